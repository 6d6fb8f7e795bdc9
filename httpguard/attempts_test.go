package httpguard_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/httpguard"
)

// body is a response or request body that counts its Close calls.
type body struct {
	io.Reader
	closed *atomic.Int32
}

func (b body) Close() error { b.closed.Add(1); return nil }

func newBody(s string, closed *atomic.Int32) body { return body{strings.NewReader(s), closed} }

type modeKey struct{}

// abandonThenRetry is a policy in the shape of Chain(retry, abandoning
// timeout): it gives up on its first attempt when told to, leaves it
// running, and returns what a second attempt returns. Requests with mode
// "skip" get nil without fn being called (a broken policy), which shows
// whatever outcome an exchange still holds.
type abandonThenRetry struct {
	abandon  chan struct{} // closed by the test: give up on the first attempt
	lateDone chan struct{} // closed once the abandoned attempt has returned
}

func (p abandonThenRetry) Do(ctx context.Context, fn func(context.Context) error) error {
	if ctx.Value(modeKey{}) == "skip" {
		return nil
	}
	go func() {
		defer close(p.lateDone)
		_ = fn(ctx)
	}()
	<-p.abandon
	return fn(ctx)
}

// A retry over an abandoning timeout: the abandoned attempt's response
// comes back after the call ended. It must be drained and closed, and must
// never reach another request (it used to sit in a reused exchange).
func TestTransportLateAttemptNeverReachesAnotherRequest(t *testing.T) {
	var lateClosed, winnerClosed atomic.Int32
	firstIn, releaseFirst := make(chan struct{}), make(chan struct{})
	var n atomic.Int32
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			close(firstIn)
			<-releaseFirst
			return &http.Response{StatusCode: 200, Body: newBody("late", &lateClosed)}, nil
		}
		return &http.Response{StatusCode: 200, Body: newBody("second attempt", &winnerClosed)}, nil
	})
	policy := abandonThenRetry{abandon: make(chan struct{}), lateDone: make(chan struct{})}
	tr, err := httpguard.Transport(rt, policy)
	require.NoError(t, err)

	go func() { <-firstIn; close(policy.abandon) }()
	req, _ := http.NewRequest(http.MethodGet, "http://dep/r1", nil)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "second attempt", string(got), "the attempt that ended the call")

	close(releaseFirst)
	<-policy.lateDone
	assert.Equal(t, int32(1), lateClosed.Load(), "the late response is drained and closed")

	for range 10 { // whatever exchange it gets, another request sees nothing of r1
		ctx := context.WithValue(context.Background(), modeKey{}, "skip")
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://dep/r2", nil)
		resp, err = tr.RoundTrip(req)
		assert.Nil(t, resp)
		assert.EqualError(t, err, "httpguard: the policy returned without sending the request")
	}
	assert.Equal(t, int32(1), winnerClosed.Load())
	assert.Equal(t, int32(1), lateClosed.Load())
}

// Two attempts that both fail with a response: the first is closed before
// the second goes out, and the caller gets the last.
func TestTransportFailedAttemptIsClosedBeforeTheNext(t *testing.T) {
	var closed [2]atomic.Int32
	var n atomic.Int32
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		i := n.Add(1) - 1
		if i == 1 {
			assert.Equal(t, int32(1), closed[0].Load(), "the first response was closed before the second attempt")
		}
		return &http.Response{StatusCode: 503, Body: newBody("busy", &closed[i])}, nil
	})
	twice := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
		_ = fn(ctx)
		return fn(ctx)
	})
	tr, err := httpguard.Transport(rt, twice)
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, "http://dep/", nil)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err, "a failure status reaches the caller as a response")
	assert.Equal(t, 503, resp.StatusCode)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, int32(1), closed[0].Load())
	assert.Equal(t, int32(1), closed[1].Load())
}

// A request the policy refuses never reaches next, which would have
// closed its body: the guard must (an io.Pipe upload blocks forever
// otherwise).
func TestRefusedRequestBodyIsClosed(t *testing.T) {
	var closed atomic.Int32
	full := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	release, err := full.Acquire(t.Context())
	require.NoError(t, err)
	defer release()
	never := roundTripper(func(*http.Request) (*http.Response, error) {
		t.Error("a refused request was sent")
		return nil, errors.New("sent")
	})

	tr, err := httpguard.Transport(never, full)
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodPost, "http://dep/", newBody("upload", &closed))
	_, err = tr.RoundTrip(req)
	assert.ErrorIs(t, err, bulkhead.ErrFull)
	assert.Equal(t, int32(1), closed.Load(), "Transport, refused by its policy")

	hosts, err := httpguard.PerHost(never, func(string) (watertight.Policy, error) { return full, nil }, httpguard.HostsConfig{MaxHosts: 1})
	require.NoError(t, err)
	req, _ = http.NewRequest(http.MethodPost, "http://a/", newBody("upload", &closed))
	_, err = hosts.RoundTrip(req)
	assert.ErrorIs(t, err, bulkhead.ErrFull)
	assert.Equal(t, int32(2), closed.Load(), "PerHost, refused by the host's policy")
	req, _ = http.NewRequest(http.MethodPost, "http://b/", newBody("upload", &closed))
	_, err = hosts.RoundTrip(req)
	assert.ErrorIs(t, err, httpguard.ErrTooManyHosts)
	assert.Equal(t, int32(3), closed.Load(), "PerHost, no room for the host")

	bad, err := httpguard.PerHost(never, func(string) (watertight.Policy, error) { return nil, errors.New("no config") }, httpguard.HostsConfig{})
	require.NoError(t, err)
	req, _ = http.NewRequest(http.MethodPost, "http://c/", newBody("upload", &closed))
	_, err = bad.RoundTrip(req)
	assert.Error(t, err)
	assert.Equal(t, int32(4), closed.Load(), "PerHost, the factory failed")
}

func TestTransportNilPointersAndOptions(t *testing.T) {
	var tr *http.Transport
	_, err := httpguard.Transport(tr, watertight.Chain())
	assert.EqualError(t, err, "httpguard: Transport: next is a nil *http.Transport")
	var bh *bulkhead.Bulkhead
	_, err = httpguard.Transport(http.DefaultTransport, bh)
	assert.EqualError(t, err, "httpguard: Transport: policy is a nil *bulkhead.Bulkhead")
	_, err = httpguard.Transport(http.DefaultTransport, watertight.Chain(), httpguard.WithFailure(nil))
	assert.EqualError(t, err, "httpguard: WithFailure: isFailure is nil")
	_, err = httpguard.PerHost(http.DefaultTransport, func(string) (watertight.Policy, error) { return nil, nil }, httpguard.HostsConfig{}, nil)
	assert.EqualError(t, err, "httpguard: PerHost: an option is nil")

	hosts, err := httpguard.PerHost(http.DefaultTransport, func(string) (watertight.Policy, error) { return bh, nil }, httpguard.HostsConfig{})
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	_, err = hosts.RoundTrip(req)
	assert.EqualError(t, err, "httpguard: policy for http://x:80: factory returned a nil *bulkhead.Bulkhead")

	var zero httpguard.Hosts
	_, err = zero.RoundTrip(req)
	assert.EqualError(t, err, "httpguard: Hosts not created with PerHost")
	assert.Empty(t, zero.Stats())
	zero.CloseIdleConnections()
}

type policyFunc func(context.Context, func(context.Context) error) error

func (f policyFunc) Do(ctx context.Context, fn func(context.Context) error) error { return f(ctx, fn) }
