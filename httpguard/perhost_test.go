package httpguard_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/httpguard"
)

func TestPerHostBadInput(t *testing.T) {
	f := func(string) (watertight.Policy, error) { return watertight.Chain(), nil }
	for _, tc := range []struct {
		next    http.RoundTripper
		factory func(string) (watertight.Policy, error)
		cfg     httpguard.HostsConfig
		want    string
	}{
		{nil, f, httpguard.HostsConfig{}, "httpguard: PerHost: next is nil"},
		{http.DefaultTransport, nil, httpguard.HostsConfig{}, "httpguard: PerHost: factory is nil"},
		{http.DefaultTransport, f, httpguard.HostsConfig{MaxHosts: -1}, "httpguard: HostsConfig.MaxHosts must be >= 0, got -1"},
		{http.DefaultTransport, f, httpguard.HostsConfig{IdleAfter: -1}, "httpguard: HostsConfig.IdleAfter must be >= 0, got -1ns"},
	} {
		_, err := httpguard.PerHost(tc.next, tc.factory, tc.cfg)
		assert.EqualError(t, err, tc.want)
	}
}

func TestPerHostSlowHostDoesNotTakeTheFastHostsSlots(t *testing.T) {
	hang := make(chan struct{})
	arrived := make(chan struct{}, 2)
	slow := newServer(t, func(w http.ResponseWriter, r *http.Request) { arrived <- struct{}{}; <-hang })
	fast := newServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "fast") })
	hosts, err := httpguard.PerHost(http.DefaultTransport, func(host string) (watertight.Policy, error) {
		return bulkhead.MustNew(bulkhead.Config{Name: host, MaxConcurrent: 2}), nil
	}, httpguard.HostsConfig{})
	require.NoError(t, err)
	c := client(t, hosts)

	var wg sync.WaitGroup
	for range 2 { // fill the slow host's slots
		wg.Go(func() {
			resp, err := get(t, c, slow.URL)
			if assert.NoError(t, err) {
				resp.Body.Close()
			}
		})
	}
	<-arrived
	<-arrived
	_, err = get(t, c, slow.URL)
	assert.ErrorIs(t, err, bulkhead.ErrFull, "the slow host is full")
	for range 5 {
		resp, err := get(t, c, fast.URL)
		require.NoError(t, err, "the fast host has its own slots")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "fast", string(body))
	}
	close(hang)
	wg.Wait()

	st := hosts.Stats()
	require.Len(t, st, 2)
	assert.ElementsMatch(t, []string{"http://" + slow.Listener.Addr().String(), "http://" + fast.Listener.Addr().String()},
		[]string{st[0].Host, st[1].Host})
	assert.Zero(t, st[0].InFlight+st[1].InFlight)
}

func TestPerHostFactoryRunsOncePerHost(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	var calls atomic.Int64
	hosts, err := httpguard.PerHost(http.DefaultTransport, func(host string) (watertight.Policy, error) {
		calls.Add(1)
		return watertight.Chain(), nil
	}, httpguard.HostsConfig{})
	require.NoError(t, err)
	c := client(t, hosts)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			resp, err := get(t, c, srv.URL)
			if assert.NoError(t, err) {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1), calls.Load())
}

func TestPerHostDefaultPortIsTheSameHost(t *testing.T) {
	var hostsSeen []string
	hosts, err := httpguard.PerHost(roundTripper(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	}), func(host string) (watertight.Policy, error) {
		hostsSeen = append(hostsSeen, host)
		return watertight.Chain(), nil
	}, httpguard.HostsConfig{})
	require.NoError(t, err)
	for _, u := range []string{"https://example.com/a", "https://example.com:443/b", "http://example.com/c", "http://[::1]:8080/d"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := hosts.RoundTrip(req)
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"https://example.com:443", "http://example.com:80", "http://[::1]:8080"}, hostsSeen)
}

func TestPerHostEviction(t *testing.T) {
	noop := roundTripper(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})
	policies := map[string]watertight.Policy{}
	hosts, err := httpguard.PerHost(noop, func(host string) (watertight.Policy, error) {
		b := breaker.MustNew(breaker.Config{Name: host, WindowCalls: 1})
		policies[host] = b
		return watertight.Chain(b, watertight.Chain()), nil
	}, httpguard.HostsConfig{MaxHosts: 1, IdleAfter: 1})
	require.NoError(t, err)
	send := func(u string) error {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := hosts.RoundTrip(req)
		return err
	}

	require.NoError(t, send("http://a"))
	require.NoError(t, send("http://b"), "a was idle: dropped to make room")
	assert.Len(t, hosts.Stats(), 1)

	// b's breaker opens: b must not be forgotten while it is open.
	_ = policies["http://b:80"].Do(context.Background(), func(context.Context) error { return errors.New("down") })
	err = send("http://c")
	assert.ErrorIs(t, err, httpguard.ErrTooManyHosts)
	assert.ErrorIs(t, err, watertight.ErrRejected)
	assert.EqualError(t, err, "httpguard: 1 hosts have a policy (HostsConfig.MaxHosts) and none is idle; not adding http://c:80")
}

func TestPerHostNeverDropsAHostInFlight(t *testing.T) {
	inside := make(chan struct{})
	leave := make(chan struct{})
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == "a" {
			close(inside)
			<-leave
		}
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})
	hosts, err := httpguard.PerHost(rt, func(string) (watertight.Policy, error) { return watertight.Chain(), nil },
		httpguard.HostsConfig{MaxHosts: 1, IdleAfter: 1})
	require.NoError(t, err)
	done := make(chan error)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://a", nil)
		_, err := hosts.RoundTrip(req)
		done <- err
	}()
	<-inside
	req, _ := http.NewRequest(http.MethodGet, "http://b", nil)
	_, err = hosts.RoundTrip(req)
	assert.ErrorIs(t, err, httpguard.ErrTooManyHosts)
	close(leave)
	require.NoError(t, <-done)
}

func TestPerHostFactoryError(t *testing.T) {
	calls := 0
	hosts, err := httpguard.PerHost(http.DefaultTransport, func(host string) (watertight.Policy, error) {
		calls++
		return nil, errors.New("no config for " + host)
	}, httpguard.HostsConfig{})
	require.NoError(t, err)
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
		_, err = hosts.RoundTrip(req)
		assert.EqualError(t, err, "httpguard: policy for http://x:80: no config for http://x:80")
	}
	assert.Equal(t, 2, calls, "a failed factory is tried again")
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
