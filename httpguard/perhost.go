package httpguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/rejection"
)

// HostsConfig configures PerHost.
type HostsConfig struct {
	// MaxHosts bounds how many hosts have a policy at once. Zero: 1024.
	MaxHosts int

	// IdleAfter is how long a host must go without a call before its
	// policy may be dropped, to make room for new hosts. Zero: 5 minutes.
	IdleAfter time.Duration
}

// ErrTooManyHosts is matched by the error for a request to a new host
// when MaxHosts hosts have a policy and none of them may be dropped. It
// matches watertight.ErrRejected: the request never reached the network.
var ErrTooManyHosts error = errTooManyHosts

var errTooManyHosts = rejection.New("httpguard", "too many hosts")

// tooManyHostsError says which host was refused, and how many are held.
type tooManyHostsError struct{ msg string }

func (e *tooManyHostsError) Error() string { return e.msg }
func (e *tooManyHostsError) Unwrap() error { return errTooManyHosts }

// Hosts is an http.RoundTripper with one policy per destination host
// (scheme, host and port), so that one slow host cannot take the slots of
// the others. Create it with PerHost.
type Hosts struct {
	*guard
	factory   func(host string) (watertight.Policy, error)
	maxHosts  int
	idleAfter int64

	// hosts is read without a lock: a new host, or a dropped one, installs
	// a new map under mu.
	hosts atomic.Pointer[map[hostKey]*host]
	mu    sync.Mutex
}

// hostKey is a destination: the port is always explicit, so that
// "example.com" and "example.com:443" share a policy over https.
type hostKey struct{ scheme, hostname, port string }

func (k hostKey) String() string {
	if k.port == "" {
		return k.scheme + "://" + k.hostname
	}
	return k.scheme + "://" + net.JoinHostPort(k.hostname, k.port)
}

// host is one destination's policy and how it is being used.
type host struct {
	key      hostKey
	policy   watertight.Policy
	inFlight atomic.Int64
	lastUsed atomic.Int64 // monotime of the last call's end or start
}

// PerHost returns a Hosts that sends each request with next, under the
// policy factory returned for its host. factory runs once per host, on the
// first request to it; if it fails, the request fails with its error and
// the next request to that host tries again. Requests go out as with
// Transport (the options are the same).
//
// A host's policy is dropped, to make room for a new host once MaxHosts
// are in use, when it has had no call for IdleAfter — never while a call
// to it is in flight, and never while a breaker in it (found through
// Chain's Unwrap) is open or half-open, which would forget that the host
// is down. If no host can be dropped, requests to new hosts fail with
// ErrTooManyHosts. There is no background goroutine: hosts are dropped
// only when a new one needs the room.
//
// A nil next or factory, or a negative MaxHosts or IdleAfter, is an error.
func PerHost(next http.RoundTripper, factory func(host string) (watertight.Policy, error), cfg HostsConfig, opts ...TransportOption) (*Hosts, error) {
	switch {
	case next == nil:
		return nil, errors.New("httpguard: PerHost: next is nil")
	case factory == nil:
		return nil, errors.New("httpguard: PerHost: factory is nil")
	case cfg.MaxHosts < 0:
		return nil, fmt.Errorf("httpguard: HostsConfig.MaxHosts must be >= 0, got %d", cfg.MaxHosts)
	case cfg.IdleAfter < 0:
		return nil, fmt.Errorf("httpguard: HostsConfig.IdleAfter must be >= 0, got %v", cfg.IdleAfter)
	}
	h := &Hosts{guard: newGuard(next, opts), factory: factory, maxHosts: cfg.MaxHosts, idleAfter: int64(cfg.IdleAfter)}
	if h.maxHosts == 0 {
		h.maxHosts = 1024
	}
	if h.idleAfter == 0 {
		h.idleAfter = int64(5 * time.Minute)
	}
	empty := map[hostKey]*host{}
	h.hosts.Store(&empty)
	return h, nil
}

// RoundTrip sends req under its host's policy.
func (h *Hosts) RoundTrip(req *http.Request) (*http.Response, error) {
	key := keyOf(req)
	e := (*h.hosts.Load())[key]
	if e == nil {
		var err error
		if e, err = h.add(key); err != nil {
			return nil, err
		}
	}
	e.inFlight.Add(1)
	defer e.done()
	return h.roundTrip(req, e.policy)
}

// done ends a call to the host.
func (e *host) done() {
	e.lastUsed.Store(monotime.Now())
	e.inFlight.Add(-1)
}

func keyOf(req *http.Request) hostKey {
	u := req.URL
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return hostKey{scheme: u.Scheme, hostname: u.Hostname(), port: port}
}

// add creates the policy of a new host, making room if it must.
func (h *Hosts) add(key hostKey) (*host, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := *h.hosts.Load()
	if e := old[key]; e != nil {
		return e, nil // another request added it meanwhile
	}
	hosts := make(map[hostKey]*host, len(old)+1)
	now := monotime.Now()
	for k, e := range old {
		if len(old) >= h.maxHosts && h.droppable(e, now) {
			continue
		}
		hosts[k] = e
	}
	if len(hosts) >= h.maxHosts {
		return nil, &tooManyHostsError{fmt.Sprintf("httpguard: %d hosts have a policy (HostsConfig.MaxHosts) and none is idle; not adding %s", len(hosts), key)}
	}
	p, err := h.factory(key.String())
	if err != nil {
		return nil, fmt.Errorf("httpguard: policy for %s: %w", key, err)
	}
	if p == nil {
		return nil, fmt.Errorf("httpguard: policy for %s: factory returned nil", key)
	}
	e := &host{key: key, policy: p}
	e.lastUsed.Store(now)
	hosts[key] = e
	h.hosts.Store(&hosts)
	return e, nil
}

// droppable reports whether a host's policy may be forgotten now.
func (h *Hosts) droppable(e *host, now int64) bool {
	return e.inFlight.Load() == 0 && now-e.lastUsed.Load() >= h.idleAfter && !holdsState(e.policy)
}

// holdsState reports whether p, or a policy chained in it, is a breaker
// that is not closed.
func holdsState(p watertight.Policy) bool {
	switch p := p.(type) {
	case *breaker.Breaker:
		return p.State() != breaker.Closed
	case interface{ Unwrap() []watertight.Policy }:
		for _, inner := range p.Unwrap() {
			if holdsState(inner) {
				return true
			}
		}
	}
	return false
}

// HostStats describes one host's policy.
type HostStats struct {
	Host     string            // scheme://host:port
	Policy   watertight.Policy // what the factory returned, for metrics to look into
	InFlight int64             // requests to the host now
	Idle     time.Duration     // since the last request to it started or ended
}

// Stats lists every host that has a policy, sorted by Host.
func (h *Hosts) Stats() []HostStats {
	hosts := *h.hosts.Load()
	out := make([]HostStats, 0, len(hosts))
	now := monotime.Now()
	for k, e := range hosts {
		out = append(out, HostStats{Host: k.String(), Policy: e.policy, InFlight: e.inFlight.Load(), Idle: time.Duration(now - e.lastUsed.Load())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}
