package bulkhead_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/adaptive"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/timeout"
)

// scripted is a Limit that returns its limits in turn and keeps the
// samples it was given.
type scripted struct {
	mu      sync.Mutex
	limits  []int
	samples []adaptive.Sample
}

func (s *scripted) Observe(x adaptive.Sample) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, x)
	n := s.limits[min(len(s.samples), len(s.limits))-1]
	return n
}

func (s *scripted) Initial() int { return 5 }

func TestAdaptiveLimitIsClampedAndReported(t *testing.T) {
	lim := &scripted{limits: []int{8, 0, 500, 500, 3}}
	var changes []bulkhead.LimitChange
	b := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 10, Limit: lim,
		OnLimitChange: func(c bulkhead.LimitChange) { changes = append(changes, c) }})
	assert.Equal(t, 5, b.Stats().MaxConcurrent, "the algorithm's Initial")
	for range 5 {
		require.NoError(t, b.Do(t.Context(), func(context.Context) error { return nil }))
	}
	assert.Equal(t, 3, b.Stats().MaxConcurrent)
	assert.Equal(t, []bulkhead.LimitChange{
		{Name: "db", From: 5, To: 8},
		{Name: "db", From: 8, To: 1},  // 0 clamped to 1
		{Name: "db", From: 1, To: 10}, // 500 clamped to the ceiling; the same again is no change
		{Name: "db", From: 10, To: 3},
	}, changes)

	require.NoError(t, b.SetMaxConcurrent(2), "with a Limit it is the ceiling")
	assert.Equal(t, 2, b.Stats().MaxConcurrent)
	assert.Equal(t, bulkhead.LimitChange{Name: "db", From: 3, To: 2}, changes[len(changes)-1])
}

// What each finished call reports: its RTT and in-flight count, Dropped for
// an inner deadline or refusal, and nothing when the caller's own ctx is
// done.
func TestAdaptiveSamples(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := &scripted{limits: []int{5}}
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 10, Limit: lim})
		inner := timeout.MustNew(timeout.Config{Duration: 50 * time.Millisecond})

		require.NoError(t, b.Do(t.Context(), func(context.Context) error { <-time.After(30 * time.Millisecond); return nil }))
		err := b.Do(t.Context(), func(ctx context.Context) error {
			return inner.Do(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		})
		require.ErrorIs(t, err, timeout.ErrExceeded)
		_ = b.Do(t.Context(), func(context.Context) error { return bulkhead.ErrFull })
		_ = b.Do(t.Context(), func(context.Context) error { return errors.New("plain failure") })

		caller, cancel := context.WithCancel(t.Context())
		_ = b.Do(caller, func(context.Context) error { cancel(); return context.Canceled })

		release, err := b.Acquire(t.Context())
		require.NoError(t, err)
		<-time.After(7 * time.Millisecond)
		release()
		release() // idempotent: reported once

		require.Len(t, lim.samples, 5, "the call whose caller left reported nothing")
		assert.Equal(t, 30*time.Millisecond, lim.samples[0].RTT)
		assert.Equal(t, 1, lim.samples[0].InFlight)
		assert.False(t, lim.samples[0].Dropped)
		assert.True(t, lim.samples[1].Dropped, "an inner deadline")
		assert.Equal(t, 50*time.Millisecond, lim.samples[1].RTT)
		assert.True(t, lim.samples[2].Dropped, "an inner refusal")
		assert.False(t, lim.samples[3].Dropped, "a plain failure says nothing of overload")
		assert.Equal(t, 7*time.Millisecond, lim.samples[4].RTT)
	})
}

// Many goroutines through an adaptive bulkhead with the real Gradient:
// never more calls at once than the highest limit in force, and nothing
// lost.
func TestAdaptiveHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, err := adaptive.Gradient(adaptive.GradientConfig{})
		require.NoError(t, err)
		var highest atomic.Int64
		highest.Store(20)
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 64, MaxQueue: 32, Limit: g,
			OnLimitChange: func(c bulkhead.LimitChange) {
				for h := highest.Load(); int64(c.To) > h && !highest.CompareAndSwap(h, int64(c.To)); h = highest.Load() {
				}
			}})
		var running, peak, calls, ran atomic.Int64
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for i := range 200 {
					calls.Add(1)
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(5+i%40)*time.Millisecond)
					_ = b.Do(ctx, func(ctx context.Context) error {
						ran.Add(1)
						n := running.Add(1)
						for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
						}
						defer running.Add(-1)
						// The dependency slows down as more calls run at once.
						<-time.After(time.Duration(n) * time.Millisecond)
						return nil
					})
					cancel()
				}
			})
		}
		wg.Wait()
		st := b.Stats()
		assert.Zero(t, st.InFlight)
		assert.Zero(t, st.Waiting)
		assert.Equal(t, uint64(ran.Load()), st.Acquired, "every slot granted was a call, and was released")
		assert.Equal(t, uint64(calls.Load()), st.Acquired+st.Rejected+st.TimedOut+st.Canceled)
		assert.LessOrEqual(t, peak.Load(), highest.Load())
		t.Logf("%d calls, peak %d at once, highest limit %d, limit at the end %d", calls.Load(), peak.Load(), highest.Load(), st.MaxConcurrent)
	})
}

// An adaptive bulkhead whose first calls are instant is not pinned at a
// limit of 1 (a 0/0 gradient used to make its limit NaN for ever).
func TestAdaptiveBulkheadWithInstantCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := adaptive.Gradient(adaptive.GradientConfig{})
		require.NoError(t, err)
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 100, MaxQueue: 100, Limit: l})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 500 {
					_ = b.Do(t.Context(), func(context.Context) error { return nil }) // no time passes in a bubble
				}
			})
		}
		wg.Wait()
		assert.Greater(t, b.Stats().MaxConcurrent, 1)
	})
}

// At a high call rate an adaptive bulkhead times one call in several and
// reports it for all of them: the samples' weights add up to the calls
// (give or take the calls of the last sample), far fewer samples are
// taken, and every drop is still reported.
func TestAdaptiveSamplingAtAHighRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // no time passes: every call ends with the one before
		lim := &scripted{limits: []int{100}}
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 100, Limit: lim})
		const calls = 20000
		for i := range calls {
			_ = b.Do(t.Context(), func(context.Context) error {
				if i%1000 == 999 {
					return bulkhead.ErrFull // an inner refusal: a drop
				}
				return nil
			})
		}
		lim.mu.Lock()
		defer lim.mu.Unlock()
		weight, drops := 0, 0
		for _, s := range lim.samples {
			weight += max(s.Calls, 1)
			if s.Dropped {
				drops++
			}
		}
		t.Logf("%d calls: %d samples, weights adding up to %d, %d drops reported", calls, len(lim.samples), weight, drops)
		assert.Less(t, len(lim.samples), calls/10, "most calls are not timed")
		assert.InDelta(t, calls, weight, 0.02*calls)
		assert.GreaterOrEqual(t, drops, 20, "every drop")
	})
}
