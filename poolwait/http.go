package poolwait

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptrace"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxConnWaitHosts bounds how many hosts a ConnWaits keeps: when a new host
// would go past it, the host with the oldest checkout is forgotten (its
// counts start again from zero if it comes back). A service that calls
// ever-new hosts (a crawler, a webhook sender) would otherwise grow the
// map without end.
const MaxConnWaitHosts = 1024

// ConnWaits measures, per host, how long requests wait for a connection
// from an http.Transport's pool (httptrace's GetConn to GotConn), and how
// many got a reused connection. With MaxConnsPerHost set, this is the wait
// that grows when a host is slow and its connections are all busy. The
// zero value is ready to use, like NewConnWaits().
//
// A checkout that ends without a connection — the request's ctx ended
// while it was queued, the dial failed — is a wait too, and often the
// longest of an incident: it is recorded in Wait, up to the moment it
// ended, and counted in Failed.
type ConnWaits struct {
	mu    sync.RWMutex
	hosts map[string]*hostWaits
}

type hostWaits struct {
	wait                  Recorder
	reused, fresh, failed atomic.Uint64
	lastUsed              atomic.Int64 // time.Now().UnixNano() of its last checkout
}

// NewConnWaits returns an empty ConnWaits.
func NewConnWaits() *ConnWaits { return &ConnWaits{} }

// WithTrace returns a ctx for a request whose connection checkout c
// measures. It composes with a ClientTrace already in ctx. One such ctx
// may serve several requests at once; their checkouts are then paired
// with the connections they got first in, first out.
//
// httptrace does not tell the scheme, so WithTrace names a host on port
// 443 https://host:443 and any other http://host:port; Transport knows the
// scheme and names every host exactly. The names are those of
// httpguard.PerHost, so that the two can be read side by side.
func (c *ConnWaits) WithTrace(ctx context.Context) context.Context {
	if c == nil {
		return ctx
	}
	ctx, _ = c.withTrace(ctx, "")
	return ctx
}

// checkouts is the trace state of one traced ctx: the checkouts that
// asked for a connection and have not got one yet.
type checkouts struct {
	c       *ConnWaits
	scheme  string // "" when unknown
	mu      sync.Mutex
	pending []*checkout
}

// checkout is one GetConn waiting for its GotConn.
type checkout struct {
	host  *hostWaits
	start time.Time
	stop  func() bool // stops the AfterFunc that records it as failed; set under checkouts.mu
}

func (c *ConnWaits) withTrace(ctx context.Context, scheme string) (context.Context, *checkouts) {
	cs := &checkouts{c: c, scheme: scheme}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn: func(hostPort string) { cs.get(ctx, hostPort) },
		GotConn: func(info httptrace.GotConnInfo) { cs.got(info.Reused) },
	}), cs
}

func (cs *checkouts) get(ctx context.Context, hostPort string) {
	co := &checkout{host: cs.c.host(hostName(cs.scheme, hostPort)), start: time.Now()}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.pending = append(cs.pending, co)
	// If ctx ends first, the checkout failed: record it then, not never.
	// (AfterFunc calls fail on a goroutine of its own, which waits for
	// cs.mu: co.stop is set before anyone else can see co.)
	co.stop = context.AfterFunc(ctx, func() { cs.fail(co) })
}

// got ends the oldest pending checkout with a connection.
func (cs *checkouts) got(reused bool) {
	cs.mu.Lock()
	if len(cs.pending) == 0 {
		cs.mu.Unlock()
		return
	}
	co := cs.pending[0]
	cs.pending = cs.pending[1:]
	cs.mu.Unlock()
	co.stop()
	co.host.wait.Observe(time.Since(co.start))
	if reused {
		co.host.reused.Add(1)
	} else {
		co.host.fresh.Add(1)
	}
}

// fail ends co without a connection, if it is still pending.
func (cs *checkouts) fail(co *checkout) {
	cs.mu.Lock()
	i := 0
	for i < len(cs.pending) && cs.pending[i] != co {
		i++
	}
	if i == len(cs.pending) {
		cs.mu.Unlock()
		return // it got its connection meanwhile
	}
	cs.pending = append(cs.pending[:i], cs.pending[i+1:]...)
	cs.mu.Unlock()
	co.host.wait.Observe(time.Since(co.start))
	co.host.failed.Add(1)
}

// failAll ends every pending checkout without a connection: the request
// returned without one.
func (cs *checkouts) failAll() {
	cs.mu.Lock()
	pending := cs.pending
	cs.pending = nil
	cs.mu.Unlock()
	for _, co := range pending {
		co.stop()
		co.host.wait.Observe(time.Since(co.start))
		co.host.failed.Add(1)
	}
}

// hostName is the PerHost form of a host: scheme://host:port, lower case.
func hostName(scheme, hostPort string) string {
	if scheme == "" {
		scheme = "http"
		if strings.HasSuffix(hostPort, ":443") {
			scheme = "https"
		}
	}
	return strings.ToLower(scheme) + "://" + strings.ToLower(hostPort)
}

// Transport returns an http.RoundTripper that measures every request it
// sends with next; a checkout still waiting when next returns (a dial
// error) is recorded as failed then. Its CloseIdleConnections reaches
// next. A nil next is an error.
func (c *ConnWaits) Transport(next http.RoundTripper) (http.RoundTripper, error) {
	if next == nil {
		return nil, errors.New("poolwait: ConnWaits.Transport: next is nil")
	}
	return &connWaitsTransport{c: c, next: next}, nil
}

type connWaitsTransport struct {
	c    *ConnWaits
	next http.RoundTripper
}

func (t *connWaitsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cs := t.c.withTrace(req.Context(), req.URL.Scheme)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	cs.failAll() // a checkout still pending got no connection
	return resp, err
}

// CloseIdleConnections closes next's idle connections, if it can.
func (t *connWaitsTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (c *ConnWaits) host(name string) *hostWaits {
	now := time.Now().UnixNano()
	c.mu.RLock()
	h := c.hosts[name]
	c.mu.RUnlock()
	if h != nil {
		h.lastUsed.Store(now)
		return h
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h = c.hosts[name]; h == nil {
		if c.hosts == nil {
			c.hosts = map[string]*hostWaits{}
		}
		if len(c.hosts) >= MaxConnWaitHosts {
			c.forgetOldestLocked()
		}
		h = &hostWaits{}
		c.hosts[name] = h
	}
	h.lastUsed.Store(now)
	return h
}

// forgetOldestLocked drops the host whose last checkout is the oldest.
func (c *ConnWaits) forgetOldestLocked() {
	var oldest string
	var at int64
	for name, h := range c.hosts {
		if t := h.lastUsed.Load(); oldest == "" || t < at {
			oldest, at = name, t
		}
	}
	delete(c.hosts, oldest)
}

// HostConnWaits is one host's connection checkouts.
type HostConnWaits struct {
	Host   string // scheme://host:port, as httpguard.PerHost names it
	Wait   Stats  // the wait of every checkout, failed ones included
	Reused uint64 // checkouts that got an idle connection
	New    uint64 // checkouts that dialed a new one
	Failed uint64 // checkouts that ended without a connection
}

// Stats returns every host's checkouts, sorted by Host.
func (c *ConnWaits) Stats() []HostConnWaits {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]HostConnWaits, 0, len(c.hosts))
	for host, h := range c.hosts {
		out = append(out, HostConnWaits{Host: host, Wait: h.wait.Stats(), Reused: h.reused.Load(), New: h.fresh.Load(), Failed: h.failed.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}
