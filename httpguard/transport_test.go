package httpguard_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/timeout"
)

// server is an httptest server that counts its requests and the
// connections clients opened to it.
type server struct {
	*httptest.Server
	requests, conns atomic.Int64
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// client sends through rt and closes its idle connections when the test
// ends.
func client(t *testing.T, rt http.RoundTripper) *http.Client {
	t.Cleanup(func() { http.DefaultTransport.(*http.Transport).CloseIdleConnections() })
	return &http.Client{Transport: rt}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	return c.Do(req)
}

func TestTransportBadInput(t *testing.T) {
	_, err := httpguard.Transport(nil, watertight.Chain())
	assert.EqualError(t, err, "httpguard: Transport: next is nil")
	_, err = httpguard.Transport(http.DefaultTransport, nil)
	assert.EqualError(t, err, "httpguard: Transport: policy is nil")
}

func TestTransport5xxTripsTheBreakerAndIsReturnedUnchanged(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream broke", http.StatusBadGateway)
	})
	b := breaker.MustNew(breaker.Config{Name: "up", WindowCalls: 2, OpenBackoff: backoff.NewConstantBackOff(time.Minute)})
	rt, err := httpguard.Transport(http.DefaultTransport, b)
	require.NoError(t, err)
	c := client(t, rt)

	for range 2 {
		resp, err := get(t, c, srv.URL)
		require.NoError(t, err, "a 5xx is a response, not an error, for the caller")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
		assert.Equal(t, "upstream broke\n", string(body))
	}
	assert.Equal(t, breaker.Open, b.State(), "both 5xx counted as failures")

	_, err = get(t, c, srv.URL)
	assert.ErrorIs(t, err, breaker.ErrOpen)
	assert.ErrorIs(t, err, watertight.ErrRejected)
	assert.Equal(t, int64(2), srv.requests.Load(), "a rejected request never reaches the network")
}

func TestTransportCustomFailure(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTooManyRequests) })
	b := breaker.MustNew(breaker.Config{WindowCalls: 1})
	rt, err := httpguard.Transport(http.DefaultTransport, b, httpguard.WithFailure(func(resp *http.Response, err error) bool {
		return err != nil || resp.StatusCode == http.StatusTooManyRequests
	}))
	require.NoError(t, err)
	resp, err := get(t, client(t, rt), srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, breaker.Open, b.State())
}

func TestTransportDeadlineReachesTheNetworkAndTheBodyOutlivesThePolicy(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		_, _ = io.WriteString(w, "body after the policy returned")
	})
	defer close(release)
	rt, err := httpguard.Transport(http.DefaultTransport, timeout.MustNew(timeout.Config{Duration: 100 * time.Millisecond}))
	require.NoError(t, err)
	c := client(t, rt)

	_, err = get(t, c, srv.URL+"/hang")
	assert.ErrorIs(t, err, timeout.ErrExceeded, "the timeout's deadline ended the request on the wire")

	resp, err := get(t, c, srv.URL+"/ok")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body) // read after RoundTrip (and the policy) returned
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "body after the policy returned", string(body))
}

// giveUp is a policy that stops waiting for fn when told to, and leaves
// fn running: what an abandoning policy without a deadline does.
type giveUp struct{ now chan struct{} }

var errGaveUp = errors.New("gave up")

func (g giveUp) Do(ctx context.Context, fn func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		return err
	case <-g.now:
		return errGaveUp
	}
}

func TestTransportDrainsALateResponseSoItsConnectionIsReused(t *testing.T) {
	arrived := make(chan struct{})
	gate := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" {
			close(arrived)
			<-gate
		}
		_, _ = io.WriteString(w, "some body")
	})
	tr := &http.Transport{MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	policy := giveUp{now: make(chan struct{})}
	rt, err := httpguard.Transport(tr, policy)
	require.NoError(t, err)
	c := &http.Client{Transport: rt}

	go func() { <-arrived; close(policy.now) }()
	_, err = get(t, c, srv.URL+"/late")
	assert.ErrorIs(t, err, errGaveUp, "the caller got the policy's error at once")
	close(gate) // the response comes late: the guard must drain and close it

	// With one connection allowed, this request can only go out once the
	// late response's body was drained and its connection returned.
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/next")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, int64(1), srv.conns.Load(), "the connection was reused, not leaked")
}

func TestTransportBulkheadRejectsWithoutTouchingTheNetwork(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	bh := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	release, err := bh.Acquire(t.Context())
	require.NoError(t, err)
	defer release()
	rt, err := httpguard.Transport(http.DefaultTransport, bh)
	require.NoError(t, err)
	_, err = get(t, client(t, rt), srv.URL)
	assert.ErrorIs(t, err, bulkhead.ErrFull)
	assert.Zero(t, srv.requests.Load())
	assert.Zero(t, srv.conns.Load())
}

func TestTransportPassesTransportErrors(t *testing.T) {
	b := breaker.MustNew(breaker.Config{WindowCalls: 1})
	rt, err := httpguard.Transport(http.DefaultTransport, b)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	_, err = get(t, client(t, rt), "http://"+addr)
	var opErr *net.OpError
	assert.True(t, errors.As(err, &opErr), "got %v", err)
	assert.Equal(t, breaker.Open, b.State())
}

// skipper is a broken policy that returns nil without calling fn.
type skipper struct{}

func (skipper) Do(context.Context, func(context.Context) error) error { return nil }

func TestTransportPolicyThatNeverCallsFn(t *testing.T) {
	rt, err := httpguard.Transport(http.DefaultTransport, skipper{})
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1", nil)
	resp, err := rt.RoundTrip(req)
	assert.Nil(t, resp)
	assert.EqualError(t, err, "httpguard: the policy returned without sending the request")
}
