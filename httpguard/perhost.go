package httpguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/openbreaker"
	"github.com/watertight-go/watertight/internal/rejection"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/internal/withindo"
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
// the others. Create it with PerHost; a zero Hosts refuses every request
// with an error saying so.
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
	reuse    bool         // the policy calls fn only within its Do: exchanges may be reused
	inFlight atomic.Int64 // calls in flight; dropped once the host is dropped
	lastUsed atomic.Int64 // monotime of the last call's end or start
}

// dropped is what a dropped host's inFlight is set to, by one
// compare-and-swap from 0: a request that counts itself in flight on it
// afterwards sees a negative count and looks the host up again, so no
// request can use a policy that is being dropped.
const dropped = math.MinInt64 / 2

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
// A dropped host's policy is closed: every policy in it (found through
// watertight.Unwrap) that has a method Close(context.Context) error (a
// *pool.Pool) is closed with a context that is already done, so that it
// stops at once without the request that made room waiting for it; one
// with Close() error (an io.Closer) is closed as it is. The factory made
// that policy for the host alone, so Hosts owns it: without this, a pool
// policy would leak its workers with every host that comes and goes. Close
// errors are dropped; a policy the factory shares between hosts must not
// be closable (wrap it) or it is closed with the first host that goes.
//
// Host names are case-insensitive, and a missing port is the scheme's
// default: api.example.com, API.EXAMPLE.COM and Api.Example.com:80 over
// http share one policy, named "http://api.example.com:80".
//
// A nil next or factory (or a nil pointer), a nil option, or a negative
// MaxHosts or IdleAfter, is an error; so is a nil policy from the factory,
// for the request that asked for it.
func PerHost(next http.RoundTripper, factory func(host string) (watertight.Policy, error), cfg HostsConfig, opts ...TransportOption) (*Hosts, error) {
	switch {
	case factory == nil:
		return nil, errors.New("httpguard: PerHost: factory is nil")
	case cfg.MaxHosts < 0:
		return nil, fmt.Errorf("httpguard: HostsConfig.MaxHosts must be >= 0, got %d", cfg.MaxHosts)
	case cfg.IdleAfter < 0:
		return nil, fmt.Errorf("httpguard: HostsConfig.IdleAfter must be >= 0, got %v", cfg.IdleAfter)
	}
	g, err := newGuard("PerHost", next, opts)
	if err != nil {
		return nil, err
	}
	h := &Hosts{guard: g, factory: factory, maxHosts: cfg.MaxHosts, idleAfter: int64(cfg.IdleAfter)}
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

// errHostsNotCreated is returned by a zero Hosts.
var errHostsNotCreated = errors.New("httpguard: Hosts not created with PerHost")

// RoundTrip sends req under its host's policy.
func (h *Hosts) RoundTrip(req *http.Request) (*http.Response, error) {
	e, err := h.lookup(req)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // never sent: the RoundTripper contract still wants it closed
		}
		return nil, err
	}
	defer e.done()
	return h.roundTrip(req, e.policy, e.reuse)
}

// lookup returns req's host, counted in flight, adding it if it is new.
func (h *Hosts) lookup(req *http.Request) (*host, error) {
	hosts := h.hosts.Load()
	if hosts == nil {
		return nil, errHostsNotCreated
	}
	key := keyOf(req)
	for {
		e := (*hosts)[key]
		if e == nil {
			var err error
			if e, err = h.add(key); err != nil {
				return nil, err
			}
		}
		if e.inFlight.Add(1) > 0 {
			return e, nil
		}
		// Dropped between the lookup and the count: look again.
		hosts = h.hosts.Load()
	}
}

// done ends a call to the host.
func (e *host) done() {
	e.lastUsed.Store(monotime.Now())
	e.inFlight.Add(-1)
}

// keyOf returns req's destination. strings.ToLower returns its argument,
// without allocating, when it is lower case already.
func keyOf(req *http.Request) hostKey {
	u := req.URL
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return hostKey{scheme: scheme, hostname: strings.ToLower(u.Hostname()), port: port}
}

// add creates the policy of a new host, making room if it must, and
// closes the policies of the hosts it dropped.
func (h *Hosts) add(key hostKey) (*host, error) {
	e, gone, err := h.addLocked(key)
	for _, g := range gone {
		closePolicy(g.policy)
	}
	return e, err
}

func (h *Hosts) addLocked(key hostKey) (e *host, gone []*host, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := *h.hosts.Load()
	if e := old[key]; e != nil {
		return e, nil, nil // another request added it meanwhile
	}
	hosts := make(map[hostKey]*host, len(old)+1)
	now := monotime.Now()
	for k, e := range old {
		if len(old) >= h.maxHosts && h.drop(e, now) {
			gone = append(gone, e)
			continue
		}
		hosts[k] = e
	}
	// The hosts marked dropped must leave the published map whatever
	// happens next: a request that finds one looks again, and must not
	// find it again.
	defer func() {
		if e != nil || len(gone) > 0 {
			h.hosts.Store(&hosts)
		}
	}()
	if len(hosts) >= h.maxHosts {
		return nil, gone, &tooManyHostsError{fmt.Sprintf("httpguard: %d hosts have a policy (HostsConfig.MaxHosts) and none is idle; not adding %s", len(hosts), key)}
	}
	p, err := h.factory(key.String())
	if err != nil {
		return nil, gone, fmt.Errorf("httpguard: policy for %s: %w", key, err)
	}
	if typednil.Is(p) {
		return nil, gone, fmt.Errorf("httpguard: policy for %s: factory returned %s", key, typednil.Describe(p))
	}
	e = &host{key: key, policy: p, reuse: withindo.Only(p)}
	e.lastUsed.Store(now)
	hosts[key] = e
	return e, gone, nil
}

// drop marks a host dropped if its policy may be forgotten now: idle, not
// holding an open breaker, and (the compare-and-swap, last) with no
// request in flight.
func (h *Hosts) drop(e *host, now int64) bool {
	return now-e.lastUsed.Load() >= h.idleAfter && !openbreaker.In(e.policy) && e.inFlight.CompareAndSwap(0, dropped)
}

// closePolicy closes what a dropped host's policy holds (see PerHost).
func closePolicy(p watertight.Policy) {
	switch c := p.(type) {
	case interface{ Close(context.Context) error }:
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // stop taking work and return at once; the rest finishes on its own
		_ = c.Close(ctx)
	case io.Closer:
		_ = c.Close()
	}
	for _, inner := range watertight.Unwrap(p) {
		closePolicy(inner)
	}
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
	ptr := h.hosts.Load()
	if ptr == nil {
		return nil // a zero Hosts
	}
	hosts := *ptr
	out := make([]HostStats, 0, len(hosts))
	now := monotime.Now()
	for k, e := range hosts {
		out = append(out, HostStats{Host: k.String(), Policy: e.policy, InFlight: e.inFlight.Load(), Idle: time.Duration(now - e.lastUsed.Load())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}
