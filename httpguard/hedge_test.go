package httpguard_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/httpguard"
)

// replicas answers the first request it gets after first, and every other
// at once (a hedge to a healthy replica), each with a body that counts its
// Close calls; a request whose ctx ends first gets the ctx's error.
type replicas struct {
	first         time.Duration
	mu            sync.Mutex
	n             int
	cancelled     int
	closed        atomic.Int32
	requestBodies []string
}

func (r *replicas) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	i := r.n
	r.n++
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		r.requestBodies = append(r.requestBodies, string(b))
	}
	r.mu.Unlock()
	wait := time.Duration(0)
	if i == 0 {
		wait = r.first
	}
	select {
	case <-time.After(wait):
	case <-req.Context().Done():
		r.mu.Lock()
		r.cancelled++
		r.mu.Unlock()
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: 200, Body: newBody("replica "+string(rune('a'+i)), &r.closed)}, nil
}

func hedged(t *testing.T, next http.RoundTripper) http.RoundTripper {
	t.Helper()
	h := hedge.MustNew(hedge.Config{Delay: 10 * time.Millisecond, Budget: budget.MustNew(budget.Config{Ratio: 10})})
	tr, err := httpguard.Transport(next, h)
	require.NoError(t, err)
	return tr
}

// The hedge wins; the first attempt's request is cancelled, so its
// connection is freed.
func TestHedgedGetCancelsTheLoser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reps := &replicas{first: time.Second}
		req, _ := http.NewRequest(http.MethodGet, "http://search/", nil)
		resp, err := hedged(t, reps).RoundTrip(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, "replica b", string(body))
		synctest.Wait()
		assert.Equal(t, 1, reps.cancelled, "the losing request was cancelled")
	})
}

// The losing attempt got a response too, after the winner's: it is drained
// and closed, and the caller never sees it.
func TestHedgedLosersResponseIsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slowHedge := &slowSecond{}
		req, _ := http.NewRequest(http.MethodGet, "http://search/", nil)
		resp, err := hedged(t, slowHedge).RoundTrip(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, "first", string(body))
		<-time.After(time.Second) // the loser's response arrives
		assert.Equal(t, int32(2), slowHedge.closed.Load(), "the caller's and the loser's")
	})
}

// slowSecond answers the first request after 15 ms and a hedge after 20
// ms more, ignoring cancellation: the hedge loses with a response in hand.
type slowSecond struct {
	n      atomic.Int32
	closed atomic.Int32
}

func (s *slowSecond) RoundTrip(*http.Request) (*http.Response, error) {
	if s.n.Add(1) == 1 {
		<-time.After(15 * time.Millisecond)
		return &http.Response{StatusCode: 200, Body: newBody("first", &s.closed)}, nil
	}
	<-time.After(20 * time.Millisecond)
	return &http.Response{StatusCode: 200, Body: newBody("hedge", &s.closed)}, nil
}

// A POST without an Idempotency-Key is not hedged: one request goes out,
// and the caller gets its response.
func TestPostIsNotHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reps := &replicas{first: 50 * time.Millisecond}
		req, _ := http.NewRequest(http.MethodPost, "http://payments/", strings.NewReader("charge"))
		resp, err := hedged(t, reps).RoundTrip(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, "replica a", string(body))
		assert.Equal(t, []string{"charge"}, reps.requestBodies)

		// With a key it is hedged, and its body is sent again whole.
		reps = &replicas{first: time.Second}
		req, _ = http.NewRequest(http.MethodPost, "http://payments/", strings.NewReader("charge"))
		req.Header.Set("Idempotency-Key", "k1")
		resp, err = hedged(t, reps).RoundTrip(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		synctest.Wait()
		assert.Equal(t, []string{"charge", "charge"}, reps.requestBodies)
	})
}
