package poolwait

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptrace"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// ConnWaits measures, per host, how long requests wait for a connection
// from an http.Transport's pool (httptrace's GetConn to GotConn), and how
// many got a reused connection. With MaxConnsPerHost set, this is the wait
// that grows when a host is slow and its connections are all busy. The
// zero value is not ready; use NewConnWaits.
type ConnWaits struct {
	mu    sync.RWMutex
	hosts map[string]*hostWaits
}

type hostWaits struct {
	wait          Recorder
	reused, fresh atomic.Uint64
}

// NewConnWaits returns an empty ConnWaits.
func NewConnWaits() *ConnWaits { return &ConnWaits{hosts: map[string]*hostWaits{}} }

// WithTrace returns a ctx for a request whose connection checkout c
// measures. It composes with a ClientTrace already in ctx.
func (c *ConnWaits) WithTrace(ctx context.Context) context.Context {
	var start time.Time
	var host string
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn: func(hostPort string) {
			host, start = hostPort, time.Now()
		},
		GotConn: func(info httptrace.GotConnInfo) {
			if start.IsZero() {
				return
			}
			h := c.host(host)
			h.wait.Observe(time.Since(start))
			if info.Reused {
				h.reused.Add(1)
			} else {
				h.fresh.Add(1)
			}
		},
	})
}

// Transport returns an http.RoundTripper that measures every request it
// sends with next. A nil next is an error.
func (c *ConnWaits) Transport(next http.RoundTripper) (http.RoundTripper, error) {
	if next == nil {
		return nil, errors.New("poolwait: ConnWaits.Transport: next is nil")
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return next.RoundTrip(req.WithContext(c.WithTrace(req.Context())))
	}), nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func (c *ConnWaits) host(hostPort string) *hostWaits {
	c.mu.RLock()
	h := c.hosts[hostPort]
	c.mu.RUnlock()
	if h != nil {
		return h
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h = c.hosts[hostPort]; h == nil {
		h = &hostWaits{}
		c.hosts[hostPort] = h
	}
	return h
}

// HostConnWaits is one host's connection checkouts.
type HostConnWaits struct {
	Host   string // host:port, as the transport dials it
	Wait   Stats  // the wait of every checkout
	Reused uint64 // checkouts that got an idle connection
	New    uint64 // checkouts that dialed a new one
}

// Stats returns every host's checkouts, sorted by Host.
func (c *ConnWaits) Stats() []HostConnWaits {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]HostConnWaits, 0, len(c.hosts))
	for host, h := range c.hosts {
		out = append(out, HostConnWaits{Host: host, Wait: h.wait.Stats(), Reused: h.reused.Load(), New: h.fresh.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}
