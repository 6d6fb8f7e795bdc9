package httpguard_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/pool"
)

var okResponse = roundTripper(func(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
})

func TestPerHostHostNamesAreCaseInsensitive(t *testing.T) {
	var seen []string
	hosts, err := httpguard.PerHost(okResponse, func(host string) (watertight.Policy, error) {
		seen = append(seen, host)
		return watertight.Chain(), nil
	}, httpguard.HostsConfig{})
	require.NoError(t, err)
	for _, u := range []string{"http://api.example.com/", "http://API.EXAMPLE.COM/", "HTTP://Api.Example.com:80/x"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := hosts.RoundTrip(req)
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"http://api.example.com:80"}, seen, "one host, one policy")
}

// closable is a policy that knows when Hosts dropped it, and fails the
// test if a request runs under it afterwards.
type closable struct {
	t      *testing.T
	closed atomic.Bool
}

func (c *closable) Do(ctx context.Context, fn func(context.Context) error) error {
	if c.closed.Load() {
		c.t.Error("a request ran under a dropped policy")
	}
	return fn(ctx)
}

func (c *closable) Close() error { c.closed.Store(true); return nil }

// Many goroutines send to three hosts through a Hosts that holds one at a
// time and drops any idle one: a lookup racing an eviction used to be able
// to count itself in flight on a host already dropped, and so run under a
// policy that no longer belonged to anyone.
func TestPerHostNeverRunsUnderADroppedPolicy(t *testing.T) {
	var made, dropped atomic.Int64
	var mu sync.Mutex
	var all []*closable
	hosts, err := httpguard.PerHost(okResponse, func(string) (watertight.Policy, error) {
		made.Add(1)
		c := &closable{t: t}
		mu.Lock()
		all = append(all, c)
		mu.Unlock()
		return watertight.Chain(watertight.Chain(), c), nil
	}, httpguard.HostsConfig{MaxHosts: 1, IdleAfter: 1})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				u := []string{"http://a/", "http://b/", "http://c/"}[(g+i)%3]
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				if resp, err := hosts.RoundTrip(req); err == nil {
					_ = resp.Body.Close()
				}
			}
		})
	}
	wg.Wait()
	for _, c := range all {
		if c.closed.Load() {
			dropped.Add(1)
		}
	}
	assert.Equal(t, made.Load()-int64(len(hosts.Stats())), dropped.Load(), "every policy dropped was closed, and only those")
	t.Logf("%d policies made, %d dropped and closed", made.Load(), dropped.Load())
}

// A pool policy of a dropped host is closed, so its workers exit (goleak
// checks that none is left when the package's tests end).
func TestPerHostClosesADroppedPoolPolicy(t *testing.T) {
	var pools []*pool.Pool
	hosts, err := httpguard.PerHost(okResponse, func(host string) (watertight.Policy, error) {
		p := pool.MustNew(pool.Config{Name: host, Workers: 2})
		pools = append(pools, p)
		return p, nil
	}, httpguard.HostsConfig{MaxHosts: 1, IdleAfter: 1})
	require.NoError(t, err)
	for _, u := range []string{"http://a/", "http://b/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := hosts.RoundTrip(req)
		require.NoError(t, err)
	}
	require.Len(t, pools, 2)
	require.NoError(t, pools[0].Close(t.Context()), "a's pool was closed when b took its place")
	assert.ErrorIs(t, pools[0].Do(t.Context(), func(context.Context) error { return nil }), pool.ErrClosed)
	require.NoError(t, pools[1].Close(t.Context()))
}

// closeCounter is a RoundTripper that counts CloseIdleConnections.
type closeCounter struct {
	http.RoundTripper
	n int
}

func (c *closeCounter) CloseIdleConnections() { c.n++ }

func TestCloseIdleConnectionsReachesTheTransport(t *testing.T) {
	next := &closeCounter{RoundTripper: okResponse}
	tr, err := httpguard.Transport(next, watertight.Chain())
	require.NoError(t, err)
	(&http.Client{Transport: tr}).CloseIdleConnections()
	assert.Equal(t, 1, next.n, "through Transport")

	hosts, err := httpguard.PerHost(next, func(string) (watertight.Policy, error) { return watertight.Chain(), nil }, httpguard.HostsConfig{})
	require.NoError(t, err)
	(&http.Client{Transport: hosts}).CloseIdleConnections()
	assert.Equal(t, 2, next.n, "through PerHost")
}
