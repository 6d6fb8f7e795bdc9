package poolwait_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/poolwait"
)

func TestConnWaitsMeasuresTheCheckoutBehindASlowRequest(t *testing.T) {
	first := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(first)
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	tr := &http.Transport{MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()

	waits := poolwait.NewConnWaits()
	rt, err := waits.Transport(tr)
	require.NoError(t, err)
	c := &http.Client{Transport: rt}

	slowDone := make(chan struct{})
	go func() {
		defer close(slowDone)
		resp, err := c.Get(srv.URL + "/slow")
		if assert.NoError(t, err) {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	<-first // the only connection is busy

	// The second request asks for a connection and has to wait for it;
	// release the slow one only once it is waiting.
	asked := make(chan struct{})
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/fast", nil)
	require.NoError(t, err)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GetConn: func(string) { close(asked) },
	}))
	go func() { <-asked; close(release) }()
	resp, err := c.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	<-slowDone

	st := waits.Stats()
	require.Len(t, st, 1)
	assert.Equal(t, "http://"+srv.Listener.Addr().String(), st[0].Host, "named as httpguard.PerHost names it")
	assert.Equal(t, uint64(2), st[0].Wait.Count)
	assert.Positive(t, st[0].Wait.Max, "the second request waited for the connection")
	assert.Equal(t, uint64(1), st[0].New)
	assert.Equal(t, uint64(1), st[0].Reused, "and then reused it")
}

func TestConnWaitsTransportNil(t *testing.T) {
	_, err := poolwait.NewConnWaits().Transport(nil)
	assert.EqualError(t, err, "poolwait: ConnWaits.Transport: next is nil")
}

// A request whose ctx ends while it is queued for the only connection
// never gets GotConn; its wait, the longest of an incident, used to vanish.
func TestConnWaitsRecordsACheckoutThatFailed(t *testing.T) {
	first, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(first)
			<-release
		}
	}))
	defer srv.Close()
	tr := &http.Transport{MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	var waits poolwait.ConnWaits // the zero value is ready
	rt, err := waits.Transport(tr)
	require.NoError(t, err)
	c := &http.Client{Transport: rt}

	slowDone := make(chan struct{})
	go func() {
		defer close(slowDone)
		if resp, err := c.Get(srv.URL + "/slow"); assert.NoError(t, err) {
			resp.Body.Close()
		}
	}()
	<-first
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn: func(string) { cancel() }, // give up while queued for the connection
	}), http.MethodGet, srv.URL+"/queued", nil)
	_, err = c.Do(req)
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
	<-slowDone

	st := waits.Stats()
	require.Len(t, st, 1)
	assert.Equal(t, uint64(1), st[0].Failed)
	assert.Equal(t, uint64(2), st[0].Wait.Count, "the failed checkout is a wait too")
}

// fakeTransport plays a transport's checkouts on the request's trace,
// for any number of hosts, without a network.
type fakeTransport struct{ reused bool }

func (f fakeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	trace := httptrace.ContextClientTrace(req.Context())
	trace.GetConn(req.URL.Host)
	trace.GotConn(httptrace.GotConnInfo{Reused: f.reused})
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// One ctx from WithTrace serving many requests at once: the hooks' state
// used to be two unguarded variables (a data race under -race).
func TestConnWaitsOneTracedCtxInParallel(t *testing.T) {
	waits := poolwait.NewConnWaits()
	ctx := waits.WithTrace(t.Context())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.com:443/", nil)
				_, _ = fakeTransport{reused: true}.RoundTrip(req)
			}
		})
	}
	wg.Wait()
	st := waits.Stats()
	require.Len(t, st, 1)
	assert.Equal(t, "https://api.example.com:443", st[0].Host)
	assert.Equal(t, uint64(800), st[0].Wait.Count)
	assert.Equal(t, uint64(800), st[0].Reused)
}

func TestConnWaitsKeepsAtMostMaxHosts(t *testing.T) {
	waits := poolwait.NewConnWaits()
	rt, err := waits.Transport(fakeTransport{})
	require.NoError(t, err)
	for i := range poolwait.MaxConnWaitHosts + 10 {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://h%d:80/", i), nil)
		_, err := rt.RoundTrip(req)
		require.NoError(t, err)
	}
	st := waits.Stats()
	assert.Len(t, st, poolwait.MaxConnWaitHosts)
	names := map[string]bool{}
	for _, h := range st {
		names[h.Host] = true
	}
	assert.True(t, names[fmt.Sprintf("http://h%d:80", poolwait.MaxConnWaitHosts+9)], "the newest is kept")
}

type idleCounter struct {
	fakeTransport
	n int
}

func (c *idleCounter) CloseIdleConnections() { c.n++ }

func TestConnWaitsTransportForwardsCloseIdleConnections(t *testing.T) {
	next := &idleCounter{}
	rt, err := poolwait.NewConnWaits().Transport(next)
	require.NoError(t, err)
	(&http.Client{Transport: rt}).CloseIdleConnections()
	assert.Equal(t, 1, next.n)
}
