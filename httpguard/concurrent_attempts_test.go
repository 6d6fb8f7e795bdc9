package httpguard_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// The policies that run attempts at once (a hedge) or one after another
// (a retry), and an abandoning timeout that leaves one running, hammered
// through Transport from many goroutines: every attempt is one request of
// its own call, a call never goes out more often than its policy allows,
// the caller reads its own call's response (a failed one too), and every
// response body is closed in the end.

// flaky answers each request after a random delay with 200 or 503, a body
// naming the call (X-Call) and the attempt, and counts what it sent.
type flaky struct {
	mu      sync.Mutex
	rng     *rand.Rand
	byCall  map[string]int
	opened  atomic.Int64
	closed  atomic.Int32
	open    sync.WaitGroup // a body not yet closed
	strange atomic.Int64   // requests without a call: another request's record sent
}

func newFlaky(seed uint64) *flaky {
	return &flaky{rng: rand.New(rand.NewPCG(seed, 7)), byCall: map[string]int{}}
}

func (f *flaky) RoundTrip(req *http.Request) (*http.Response, error) {
	id := req.Header.Get("X-Call")
	f.mu.Lock()
	if id == "" {
		f.strange.Add(1)
	}
	f.byCall[id]++
	n := f.byCall[id]
	wait := time.Duration(f.rng.IntN(2500)) * time.Microsecond
	status := http.StatusOK
	if f.rng.IntN(3) == 0 {
		status = http.StatusServiceUnavailable
	}
	f.mu.Unlock()
	select {
	case <-time.After(wait):
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	f.opened.Add(1)
	f.open.Add(1)
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: &closeOnce{body: newBody(id+"/"+strconv.Itoa(n), &f.closed), done: f.open.Done}, Request: req}, nil
}

// closeOnce is a body that reports its first Close.
type closeOnce struct {
	body
	once sync.Once
	done func()
}

func (c *closeOnce) Close() error {
	c.once.Do(c.done)
	return c.body.Close()
}

// hammerTransport runs 4 goroutines × 100 GETs through Transport under p.
//
// On real time, not in a synctest bubble: hedges, abandoned attempts and
// context.AfterFunc start and end goroutines by the thousand here, and in
// a bubble that makes the race detector's runtime fail a CHECK or crash
// now and then (golang/go#78156, open in Go 1.26) — a fault of the
// toolchain, not of the code under test. No assertion here is on time.
func hammerTransport(t *testing.T, name string, p watertight.Policy, maxAttempts int) {
	t.Run(name, func(t *testing.T) {
		const calls = 100
		func() {
			dep := newFlaky(uint64(len(name)))
			rt, err := httpguard.Transport(dep, p)
			require.NoError(t, err)
			var wg sync.WaitGroup
			var failedReturned, errs atomic.Int64
			for g := range 4 {
				wg.Go(func() {
					for i := range calls {
						id := fmt.Sprintf("%d-%d", g, i)
						req, _ := http.NewRequest(http.MethodGet, "http://dep/"+id, nil)
						req.Header.Set("X-Call", id)
						resp, err := rt.RoundTrip(req)
						if err != nil {
							errs.Add(1)
							continue
						}
						body, _ := io.ReadAll(resp.Body)
						_ = resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							failedReturned.Add(1)
						}
						if got := string(body); len(got) <= len(id) || got[:len(id)+1] != id+"/" {
							t.Errorf("call %s read %q, another call's body", id, got)
						}
					}
				})
			}
			wg.Wait()
			dep.open.Wait() // losers and abandoned attempts: their responses are closed as they come back
			assert.Zero(t, dep.strange.Load(), "requests sent without their call's header")
			dep.mu.Lock()
			for id, n := range dep.byCall {
				if n > maxAttempts {
					t.Errorf("call %s went out %d times, at most %d allowed", id, n, maxAttempts)
				}
			}
			dep.mu.Unlock()
			assert.Equal(t, int32(dep.opened.Load()), dep.closed.Load(), "every response body is closed, once")
			t.Logf("%s: %d calls, %d answered with a failed response, %d errors", name, 4*calls, failedReturned.Load(), errs.Load())
		}()
	})
}

func TestConcurrentAttemptsThroughTransport(t *testing.T) {
	big := func() *budget.Budget { return budget.MustNew(budget.Config{Ratio: 10, MinPerSecond: 1000}) }
	hammerTransport(t, "hedge", hedge.MustNew(hedge.Config{Delay: time.Millisecond, MaxHedges: 1, Budget: big()}), 2)
	hammerTransport(t, "hedge of 3", hedge.MustNew(hedge.Config{Delay: time.Millisecond, MaxHedges: 3, Budget: big()}), 4)
	hammerTransport(t, "retry", retry.MustNew(retry.Config{
		MaxAttempts: 3, Budget: big(),
		Backoff: func() backoff.BackOff { return backoff.NewConstantBackOff(time.Millisecond) },
	}), 3)
	hammerTransport(t, "hedge of retries", watertight.Chain(
		hedge.MustNew(hedge.Config{Delay: 2 * time.Millisecond, MaxHedges: 1, Budget: big()}),
		retry.MustNew(retry.Config{MaxAttempts: 2, Budget: big(), Backoff: func() backoff.BackOff { return &backoff.ZeroBackOff{} }}),
	), 4)
	hammerTransport(t, "retry of abandoning attempts", watertight.Chain(
		retry.MustNew(retry.Config{MaxAttempts: 3, Budget: big(), Backoff: func() backoff.BackOff { return &backoff.ZeroBackOff{} }}),
		timeout.MustNew(timeout.Config{Duration: 2 * time.Millisecond, Abandon: true}),
	), 3)
}

// When every attempt of a hedged call fails with a 5xx, the caller gets a
// failed response, unchanged, as Transport's doc promises: not (nil, err).
func TestHedgeWhoseAttemptsAllFailReturnsTheResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		var closed atomic.Int32
		dep := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			i := n.Add(1)
			<-time.After(time.Duration(3-i) * 10 * time.Millisecond) // the hedge fails first
			return &http.Response{StatusCode: http.StatusBadGateway, Header: http.Header{}, Body: newBody("attempt "+strconv.Itoa(int(i)), &closed)}, nil
		})
		h := hedge.MustNew(hedge.Config{Delay: 5 * time.Millisecond, Budget: budget.MustNew(budget.Config{Ratio: 10})})
		rt, err := httpguard.Transport(dep, h)
		require.NoError(t, err)
		req, _ := http.NewRequest(http.MethodGet, "http://dep/", nil)
		resp, err := rt.RoundTrip(req)
		require.NoError(t, err)
		require.NotNil(t, resp)
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, "attempt 1", string(body), "the first attempt's response: the hedge returns its error")
		require.NoError(t, resp.Body.Close())
		synctest.Wait()
		assert.Equal(t, int32(2), closed.Load())
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A policy that calls fn after its Do returned (a hedge launched as the
// call was decided, a user's policy that keeps fn) finds the request
// answered: its late attempt sends nothing, neither this request nor the
// next one's.
func TestAnAttemptAfterRoundTripReturnedSendsNothing(t *testing.T) {
	var sent atomic.Int32
	dep := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		sent.Add(1)
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
	})
	p := &keepFn{}
	rt, err := httpguard.Transport(dep, p)
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, "http://dep/a", nil)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	for range 3 { // later requests that could reuse the first one's record
		req, _ := http.NewRequest(http.MethodGet, "http://dep/b", nil)
		resp, err := rt.RoundTrip(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
	}
	require.Equal(t, int32(4), sent.Load())
	err = p.kept[0](context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "after it returned")
	assert.Equal(t, int32(4), sent.Load(), "the late attempt sent nothing")
}

// keepFn calls fn once and keeps it, to call it again later.
type keepFn struct{ kept []func(context.Context) error }

func (k *keepFn) Do(ctx context.Context, fn func(context.Context) error) error {
	k.kept = append(k.kept, fn)
	return fn(ctx)
}

// A WithFailure func that panics goes up the caller's stack once; the
// response it was classifying is closed, not leaked with its connection.
func TestAPanickingClassifierClosesTheResponse(t *testing.T) {
	var closed atomic.Int32
	dep := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: newBody("ok", &closed)}, nil
	})
	rt, err := httpguard.Transport(dep, watertight.Chain(), httpguard.WithFailure(func(*http.Response, error) bool { panic("classifier") }))
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, "http://dep/", nil)
	assert.PanicsWithValue(t, "classifier", func() { _, _ = rt.RoundTrip(req) })
	assert.Equal(t, int32(1), closed.Load())
}
