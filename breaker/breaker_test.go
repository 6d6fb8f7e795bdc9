package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ watertight.Policy = (*breaker.Breaker)(nil)

var errDown = errors.New("dependency down")

// elapse lets d pass on the synctest clock.
func elapse(d time.Duration) { <-time.After(d) }

// steady is an OpenBackoff without jitter: open periods of 1s, 2s, 4s, 8s,
// 8s, ...
func steady() backoff.BackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(time.Second),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0),
		backoff.WithMaxInterval(8*time.Second),
		backoff.WithMaxElapsedTime(0),
	)
}

// run makes n calls that return err and take d each.
func run(b *breaker.Breaker, n int, err error, d time.Duration) (last error) {
	for range n {
		last = b.Do(context.Background(), func(context.Context) error {
			if d > 0 {
				elapse(d)
			}
			return err
		})
	}
	return last
}

// step is one line of a scenario: make calls, let time pass, or check.
type step struct {
	ok, fail int           // successful and failed calls to make
	took     time.Duration // how long each of those calls takes
	wait     time.Duration // time to let pass afterwards
	want     breaker.State // the state after the step
	rejected error         // if set, one more call must be refused with it
}

func TestScenarios(t *testing.T) {
	for _, sc := range []struct {
		name  string
		cfg   breaker.Config
		steps []step
	}{
		{"count window trips exactly at the failure rate",
			breaker.Config{WindowCalls: 10, FailureRate: 0.5, OpenBackoff: steady()},
			[]step{
				{fail: 4, ok: 5, want: breaker.Closed}, // 9 calls: below MinCalls (10)
				{fail: 1, want: breaker.Open},          // 5 of 10 = 0.5
				{rejected: breaker.ErrOpen, want: breaker.Open},
			}},
		{"count window below the failure rate stays closed",
			breaker.Config{WindowCalls: 10, FailureRate: 0.5},
			[]step{{ok: 6, fail: 4, want: breaker.Closed}, {ok: 100, want: breaker.Closed}}},
		{"a rate like 0.3 trips at 3 of 10, with no rounding error",
			breaker.Config{WindowCalls: 10, FailureRate: 0.3},
			[]step{{ok: 7, fail: 2, want: breaker.Closed}, {fail: 1, want: breaker.Open}}},
		{"MinCalls: one failure out of one call does not open by default",
			breaker.Config{},
			[]step{{fail: 1, want: breaker.Closed}, {fail: 18, want: breaker.Closed}, {fail: 1, want: breaker.Open}}},
		{"the count window slides",
			breaker.Config{WindowCalls: 4, FailureRate: 0.75},
			[]step{
				{fail: 2, ok: 2, want: breaker.Closed}, // [f f o o] = 0.5
				{fail: 1, want: breaker.Closed},        // [f o o f] = 0.5
				{fail: 1, want: breaker.Closed},        // [o o f f] = 0.5
				{fail: 1, want: breaker.Open},          // [o f f f] = 0.75
			}},
		{"a window full of successes slides exactly after a long run of them",
			breaker.Config{WindowCalls: 4, FailureRate: 0.75},
			[]step{
				{ok: 100, want: breaker.Closed},
				{fail: 2, want: breaker.Closed}, // [o o f f] = 0.5
				{fail: 1, want: breaker.Open},   // [o f f f] = 0.75
			}},
		{"a success that completes MinCalls trips a window already over the rate",
			breaker.Config{WindowCalls: 10, MinCalls: 4},
			[]step{{fail: 3, want: breaker.Closed}, {ok: 1, want: breaker.Open}}},
		{"calls older than the time window no longer count",
			breaker.Config{Window: 10 * time.Second, MinCalls: 4},
			[]step{
				{fail: 3, wait: 11 * time.Second, want: breaker.Closed},
				{ok: 3, fail: 1, want: breaker.Closed}, // 1 of 4; with the old ones it would be 4 of 7
				{fail: 1, want: breaker.Closed},        // 2 of 5
				{fail: 1, want: breaker.Open},          // 3 of 6
			}},
		{"a time window loses its oldest bucket a tenth at a time",
			breaker.Config{Window: 10 * time.Second, MinCalls: 2, FailureRate: 1},
			[]step{
				{ok: 1, wait: 9500 * time.Millisecond, want: breaker.Closed}, // bucket 0
				{fail: 1, wait: time.Second, want: breaker.Closed},           // bucket 9: 1 of 2
				{fail: 1, want: breaker.Open},                                // bucket 0 gone: 2 of 2
			}},
		{"slow calls trip at the slow-call rate",
			breaker.Config{WindowCalls: 4, SlowCall: time.Second, SlowCallRate: 0.5},
			[]step{
				{ok: 1, took: time.Second, want: breaker.Closed},
				{ok: 2, want: breaker.Closed},
				{ok: 1, took: 2 * time.Second, want: breaker.Open},
			}},
		{"a call just under SlowCall is not slow",
			breaker.Config{WindowCalls: 2, SlowCall: time.Second},
			[]step{{ok: 2, took: time.Second - time.Nanosecond, want: breaker.Closed}}},
		{"open, then half-open, then closed when the probes pass",
			breaker.Config{WindowCalls: 2, HalfOpenCalls: 2, OpenBackoff: steady()},
			[]step{
				{fail: 2, want: breaker.Open},
				{wait: time.Second - 1, want: breaker.Open},
				{wait: 1, want: breaker.HalfOpen},
				{ok: 1, want: breaker.HalfOpen},
				{ok: 1, want: breaker.Closed},
			}},
		{"backoff grows across failed half-opens and resets after a close",
			breaker.Config{WindowCalls: 1, HalfOpenCalls: 1, OpenBackoff: steady()},
			[]step{
				{fail: 1, wait: time.Second, want: breaker.HalfOpen}, // open 1s
				{fail: 1, wait: 2*time.Second - 1, want: breaker.Open},
				{wait: 1, want: breaker.HalfOpen}, // open 2s
				{fail: 1, wait: 4 * time.Second, want: breaker.HalfOpen},
				{fail: 1, wait: 8 * time.Second, want: breaker.HalfOpen},
				{fail: 1, wait: 8 * time.Second, want: breaker.HalfOpen}, // capped at 8s
				{ok: 1, want: breaker.Closed},
				{fail: 1, wait: time.Second, want: breaker.HalfOpen}, // 1s again
			}},
		{"backoff.Stop keeps the longest period so far",
			breaker.Config{WindowCalls: 1, HalfOpenCalls: 1, OpenBackoff: backoff.WithMaxRetries(steady(), 2)},
			[]step{
				{fail: 1, wait: time.Second, want: breaker.HalfOpen},
				{fail: 1, wait: 2 * time.Second, want: breaker.HalfOpen},
				{fail: 1, wait: 2*time.Second - 1, want: breaker.Open}, // Stop: 2s, not 4s
				{wait: 1, want: breaker.HalfOpen},
			}},
		{"half-open probes failing at the rate open it again",
			breaker.Config{WindowCalls: 2, HalfOpenCalls: 4, FailureRate: 0.5, OpenBackoff: steady()},
			[]step{
				{fail: 2, wait: time.Second, want: breaker.HalfOpen},
				{ok: 2, fail: 1, want: breaker.HalfOpen},
				{fail: 1, want: breaker.Open}, // 2 of 4
			}},
		{"half-open probes under the rate close it",
			breaker.Config{WindowCalls: 2, HalfOpenCalls: 4, FailureRate: 0.5, OpenBackoff: steady()},
			[]step{
				{fail: 2, wait: time.Second, want: breaker.HalfOpen},
				{ok: 3, fail: 1, want: breaker.Closed}, // 1 of 4
			}},
		{"slow half-open probes open it again",
			breaker.Config{WindowCalls: 2, HalfOpenCalls: 2, SlowCall: time.Second, OpenBackoff: steady()},
			[]step{
				{fail: 2, wait: time.Second, want: breaker.HalfOpen},
				{ok: 2, took: time.Second, want: breaker.Open},
			}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, err := breaker.New(sc.cfg)
				require.NoError(t, err)
				for i, s := range sc.steps {
					run(b, s.fail, errDown, s.took)
					run(b, s.ok, nil, s.took)
					if s.wait > 0 {
						elapse(s.wait)
					}
					if s.rejected != nil {
						assert.ErrorIs(t, b.Do(t.Context(), func(context.Context) error { t.Error("ran"); return nil }), s.rejected, "step %d", i)
					}
					require.Equal(t, s.want, b.State(), "after step %d: %+v", i, b.Stats())
				}
			})
		})
	}
}

func TestOpenRejectsWithRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.MustNew(breaker.Config{Name: "payments", WindowCalls: 1, OpenBackoff: steady()})
		run(b, 1, errDown, 0)
		elapse(300 * time.Millisecond)
		err := b.Do(t.Context(), func(context.Context) error { t.Error("ran"); return nil })
		assert.ErrorIs(t, err, breaker.ErrOpen)
		assert.ErrorIs(t, err, watertight.ErrRejected)
		var oe *breaker.OpenError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "payments", oe.Name)
		assert.Equal(t, time.Second, oe.RetryAfter, "700ms left, rounded up to a second")
		after, ok := watertight.RetryAfter(err)
		assert.True(t, ok)
		assert.Equal(t, time.Second, after)
		assert.EqualError(t, err, `breaker "payments": open, retry after 1s`)

		st := b.Stats()
		assert.Equal(t, breaker.Open, st.State)
		assert.Equal(t, time.Second, st.OpenPeriod)
		assert.Equal(t, 700*time.Millisecond, st.OpenLeft)
		assert.Equal(t, uint64(1), st.Rejected)
		assert.Equal(t, uint64(1), st.Failures)
	})
}

func TestHalfOpenAdmitsAtMostHalfOpenCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.MustNew(breaker.Config{Name: "db", WindowCalls: 1, HalfOpenCalls: 2, OpenBackoff: steady()})
		run(b, 1, errDown, 0)
		elapse(time.Second)
		done1, err := b.Allow()
		require.NoError(t, err)
		done2, err := b.Allow()
		require.NoError(t, err)
		_, err = b.Allow()
		assert.ErrorIs(t, err, breaker.ErrHalfOpenFull)
		assert.ErrorIs(t, err, watertight.ErrRejected)
		assert.EqualError(t, err, `breaker "db": half-open, probes taken`)

		done1(nil)
		done1(errDown) // a second done counts nothing
		assert.Equal(t, breaker.HalfOpen, b.State())
		done2(nil)
		assert.Equal(t, breaker.Closed, b.State())
		assert.Equal(t, uint64(2), b.Stats().Successes)
	})
}

func TestHalfOpenTimeoutWhenAProbeNeverReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var changes []breaker.StateChange
		b := breaker.MustNew(breaker.Config{
			WindowCalls: 1, HalfOpenCalls: 1, OpenBackoff: steady(),
			OnStateChange: func(c breaker.StateChange) { changes = append(changes, c) },
		})
		run(b, 1, errDown, 0)
		elapse(time.Second)
		_, err := b.Allow() // a probe whose done is never called
		require.NoError(t, err)
		elapse(time.Second - 1) // the default HalfOpenTimeout: the open period before, 1s
		assert.Equal(t, breaker.HalfOpen, b.State())
		elapse(1)
		assert.Equal(t, breaker.Open, b.State(), "the breaker does not stick in half-open")
		assert.Equal(t, breaker.ReasonHalfOpenTimeout, changes[len(changes)-1].Reason)
		elapse(2 * time.Second) // the next open period
		require.NoError(t, b.Do(t.Context(), func(context.Context) error { return nil }))
		assert.Equal(t, breaker.Closed, b.State())
	})
}

func TestHalfOpenTimeoutConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.MustNew(breaker.Config{WindowCalls: 1, HalfOpenCalls: 1, HalfOpenTimeout: 100 * time.Millisecond, OpenBackoff: steady()})
		run(b, 1, errDown, 0)
		elapse(time.Second)
		_, err := b.Allow()
		require.NoError(t, err)
		elapse(100 * time.Millisecond)
		assert.Equal(t, breaker.Open, b.State())
	})
}

func TestAPanickingProbeCountsAsAFailureAndFreesItsSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.MustNew(breaker.Config{WindowCalls: 1, HalfOpenCalls: 1, OpenBackoff: steady()})
		run(b, 1, errDown, 0)
		elapse(time.Second)
		assert.PanicsWithValue(t, "probe", func() {
			_ = b.Do(t.Context(), func(context.Context) error { panic("probe") })
		})
		assert.Equal(t, breaker.Open, b.State(), "the failed probe opened it again")
		assert.Equal(t, uint64(2), b.Stats().Failures)
	})
}

func TestPanicInClosedCountsAsFailure(t *testing.T) {
	b := breaker.MustNew(breaker.Config{WindowCalls: 1})
	assert.Panics(t, func() { _ = b.Do(t.Context(), func(context.Context) error { panic("x") }) })
	assert.Equal(t, breaker.Open, b.State())
}

func TestIgnoredProbeFreesItsSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.MustNew(breaker.Config{WindowCalls: 1, HalfOpenCalls: 1, OpenBackoff: steady()})
		run(b, 1, errDown, 0)
		elapse(time.Second)
		done, err := b.Allow()
		require.NoError(t, err)
		done(context.Canceled) // the caller went away: says nothing
		done2, err := b.Allow()
		require.NoError(t, err, "the slot was freed")
		done2(nil)
		assert.Equal(t, breaker.Closed, b.State())
		assert.Equal(t, uint64(1), b.Stats().Ignored)
	})
}

func TestResultsFromAnEarlierPeriodAreIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.MustNew(breaker.Config{WindowCalls: 2, HalfOpenCalls: 1, OpenBackoff: steady()})
		late, err := b.Allow() // admitted while closed
		require.NoError(t, err)
		run(b, 2, errDown, 0)
		elapse(time.Second)
		assert.Equal(t, breaker.HalfOpen, b.State())
		late(nil) // reports in half-open: must not count as the probe
		assert.Equal(t, breaker.HalfOpen, b.State())
		run(b, 1, errDown, 0) // the real probe
		assert.Equal(t, breaker.Open, b.State())
	})
}

func TestClassification(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	innerReject := fmtWrap(watertight.ErrRejected)

	for _, tc := range []struct {
		name   string
		cfg    breaker.Config
		ctx    context.Context
		err    error
		counts string // "success", "failure" or "ignored"
	}{
		{"nil", breaker.Config{}, context.Background(), nil, "success"},
		{"an error", breaker.Config{}, context.Background(), errDown, "failure"},
		{"the caller cancelled", breaker.Config{}, canceled, context.Canceled, "ignored"},
		{"context.Canceled from the dependency, caller still there", breaker.Config{}, context.Background(), context.Canceled, "failure"},
		{"a deadline expiry", breaker.Config{}, expired, context.DeadlineExceeded, "failure"},
		{"an inner policy refused", breaker.Config{}, context.Background(), innerReject, "ignored"},
		{"IsIgnored replaces the defaults", breaker.Config{IsIgnored: func(err error) bool { return errors.Is(err, errDown) }}, canceled, errDown, "ignored"},
		{"IsIgnored replaces the defaults: cancel counts", breaker.Config{IsIgnored: func(error) bool { return false }}, canceled, context.Canceled, "failure"},
		{"IsFailure false", breaker.Config{IsFailure: func(err error) bool { return !errors.Is(err, errDown) }}, context.Background(), errDown, "success"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := breaker.MustNew(tc.cfg)
			got := b.Do(tc.ctx, func(context.Context) error { return tc.err })
			assert.Equal(t, tc.err, got, "fn's error passes through unchanged")
			st := b.Stats()
			want := map[string][3]uint64{"success": {1, 0, 0}, "failure": {0, 1, 0}, "ignored": {0, 0, 1}}[tc.counts]
			assert.Equal(t, want, [3]uint64{st.Successes, st.Failures, st.Ignored})
		})
	}
}

func TestResetClosesAndEmptiesTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var changes []breaker.StateChange
		b := breaker.MustNew(breaker.Config{Name: "x", WindowCalls: 4, MinCalls: 2, OpenBackoff: steady(),
			OnStateChange: func(c breaker.StateChange) { changes = append(changes, c) }})
		run(b, 1, errDown, 0)
		b.Reset() // closed → closed: a new window, no state change
		run(b, 1, errDown, 0)
		assert.Equal(t, breaker.Closed, b.State(), "the first failure was forgotten")
		run(b, 1, errDown, 0)
		assert.Equal(t, breaker.Open, b.State())
		b.Reset()
		assert.Equal(t, breaker.Closed, b.State())
		assert.Zero(t, b.Stats().WindowCalls)
		require.Len(t, changes, 2)
		assert.Equal(t, breaker.StateChange{Name: "x", From: breaker.Open, To: breaker.Closed, Reason: breaker.ReasonReset, At: time.Now()}, changes[1])
	})
}

func TestStateChangesInOrderAndCallbacksMayCallBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b *breaker.Breaker
		var log []string
		b = breaker.MustNew(breaker.Config{
			WindowCalls: 1, HalfOpenCalls: 1, OpenBackoff: steady(),
			OnStateChange: func(c breaker.StateChange) {
				// Reading the breaker from its own callback must not deadlock.
				log = append(log, c.From.String()+"→"+c.To.String()+" ("+string(c.Reason)+") now "+b.State().String())
				_ = b.Stats()
				if c.Reason == breaker.ReasonProbesFailed {
					b.Reset() // a transition from inside the callback is delivered after this one
				}
			},
		})
		run(b, 1, errDown, 0)
		elapse(time.Second)
		run(b, 1, errDown, 0) // probe fails
		assert.Equal(t, []string{
			"closed→open (failure rate) now open",
			"open→half-open (open period ended) now half-open",
			"half-open→open (half-open probes failed) now open",
			"open→closed (reset) now closed",
		}, log)
		assert.Equal(t, uint64(4), b.Stats().Transitions)
	})
}

func TestStatsOfTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.MustNew(breaker.Config{WindowCalls: 10, MinCalls: 4, SlowCall: time.Second, SlowCallRate: 0.9})
		run(b, 1, errDown, 0)
		run(b, 2, nil, 0)
		st := b.Stats()
		assert.Equal(t, int64(3), st.WindowCalls)
		assert.Equal(t, -1.0, st.FailureRate, "below MinCalls")
		assert.Equal(t, -1.0, st.SlowCallRate)
		run(b, 1, nil, time.Second)
		st = b.Stats()
		assert.Equal(t, breaker.Closed, st.State)
		assert.Equal(t, [3]int64{4, 1, 1}, [3]int64{st.WindowCalls, st.WindowFailures, st.WindowSlowCalls})
		assert.Equal(t, 0.25, st.FailureRate)
		assert.Equal(t, 0.25, st.SlowCallRate)
		assert.Equal(t, uint64(3), st.Successes)
		assert.Equal(t, uint64(1), st.SlowCalls)
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  breaker.Config
		want string
	}{
		{breaker.Config{WindowCalls: -1}, "breaker: Config.WindowCalls must be >= 0, got -1"},
		{breaker.Config{Window: -time.Second}, "breaker: Config.Window must be >= 0, got -1s"},
		{breaker.Config{WindowCalls: 5, Window: time.Second}, "breaker: Config.WindowCalls (5) and Config.Window (1s) are both set; choose a count or a time window"},
		{breaker.Config{MinCalls: -3}, "breaker: Config.MinCalls must be >= 0, got -3"},
		{breaker.Config{WindowCalls: 5, MinCalls: 6}, "breaker: Config.MinCalls (6) must be <= Config.WindowCalls (5), or the window never trips"},
		{breaker.Config{FailureRate: 1.5}, "breaker: Config.FailureRate must be in (0, 1], got 1.5"},
		{breaker.Config{FailureRate: -0.1}, "breaker: Config.FailureRate must be in (0, 1], got -0.1"},
		{breaker.Config{SlowCall: -time.Second}, "breaker: Config.SlowCall must be >= 0, got -1s"},
		{breaker.Config{SlowCall: time.Second, SlowCallRate: 2}, "breaker: Config.SlowCallRate must be in (0, 1], got 2"},
		{breaker.Config{SlowCallRate: 0.5}, "breaker: Config.SlowCallRate (0.5) is set without Config.SlowCall"},
		{breaker.Config{HalfOpenCalls: -1}, "breaker: Config.HalfOpenCalls must be >= 0, got -1"},
		{breaker.Config{HalfOpenTimeout: -1}, "breaker: Config.HalfOpenTimeout must be >= 0, got -1ns"},
		{breaker.Config{Window: 10}, "breaker: Config.Window must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{breaker.Config{SlowCall: 10}, "breaker: Config.SlowCall must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{breaker.Config{HalfOpenTimeout: 500 * time.Microsecond}, "breaker: Config.HalfOpenTimeout must be 0 or at least 1ms, got 500µs"},
		{breaker.Config{WindowCalls: math.MaxInt}, fmt.Sprintf("breaker: Config.WindowCalls must be <= 1048576, got %d", math.MaxInt)},
		{breaker.Config{WindowCalls: 1 << 40}, "breaker: Config.WindowCalls must be <= 1048576, got 1099511627776"},
		{breaker.Config{WindowCalls: 1 << 62}, "breaker: Config.WindowCalls must be <= 1048576, got 4611686018427387904"},
		{breaker.Config{MinCalls: math.MaxInt}, fmt.Sprintf("breaker: Config.MinCalls must be <= 1048576, got %d", math.MaxInt)},
		{breaker.Config{HalfOpenCalls: 1 << 30}, "breaker: Config.HalfOpenCalls must be <= 10000, got 1073741824"},
		{breaker.Config{FailureRate: math.NaN()}, "breaker: Config.FailureRate must be in (0, 1], got NaN"},
	} {
		b, err := breaker.New(tc.cfg)
		assert.Nil(t, b)
		assert.EqualError(t, err, tc.want)
		assert.PanicsWithError(t, tc.want, func() { breaker.MustNew(tc.cfg) })
	}
}

func TestDefaultsNeverOpenOnOneFailure(t *testing.T) {
	b := breaker.MustNew(breaker.Config{})
	run(b, 1, errDown, 0)
	assert.Equal(t, breaker.Closed, b.State())
	assert.Equal(t, "closed", breaker.Closed.String())
	assert.Equal(t, "State(7)", breaker.State(7).String())
}

func fmtWrap(err error) error { return &wrapped{err} }

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "inner: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func TestLastTransitionsKeepsTheLatestOldestFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.MustNew(breaker.Config{WindowCalls: 1, HalfOpenCalls: 1, OpenBackoff: steady()})
		assert.Empty(t, b.LastTransitions())
		start := time.Now()
		run(b, 1, errDown, 0) // closed → open
		elapse(time.Second)   // open → half-open, applied by LastTransitions itself
		got := b.LastTransitions()
		require.Len(t, got, 2)
		assert.Equal(t, breaker.StateChange{From: breaker.Closed, To: breaker.Open, Reason: breaker.ReasonFailureRate, At: start, OpenPeriod: time.Second}, got[0])
		assert.Equal(t, breaker.StateChange{From: breaker.Open, To: breaker.HalfOpen, Reason: breaker.ReasonOpenPeriodEnded, At: start.Add(time.Second)}, got[1])

		// Ten more transitions: only the last KeptTransitions stay.
		for range 5 {
			run(b, 1, errDown, 0)   // half-open → open
			elapse(8 * time.Second) // open → half-open
			b.State()
		}
		got = b.LastTransitions()
		require.Len(t, got, breaker.KeptTransitions)
		assert.Equal(t, breaker.HalfOpen, got[len(got)-1].To)
		for i := 1; i < len(got); i++ {
			assert.False(t, got[i].At.Before(got[i-1].At), "oldest first")
			assert.Equal(t, got[i-1].To, got[i].From, "one chain of transitions")
		}
	})
}

// A panicking OnStateChange goes up the caller's stack once, and the
// breaker stays sound: it is unlocked, and the next transitions are
// delivered.
func TestAPanickingOnStateChangeGoesUpOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []breaker.State
		b := breaker.MustNew(breaker.Config{WindowCalls: 1, OpenBackoff: steady(), OnStateChange: func(c breaker.StateChange) {
			got = append(got, c.To)
			if c.To == breaker.Open && len(got) == 1 {
				panic("callback")
			}
		}})
		assert.PanicsWithValue(t, "callback", func() { run(b, 1, errDown, 0) })
		assert.Equal(t, breaker.Open, b.State(), "the transition was made")
		elapse(time.Second)
		require.NoError(t, run(b, 5, nil, 0), "half-open probes pass")
		assert.Equal(t, []breaker.State{breaker.Open, breaker.HalfOpen, breaker.Closed}, got, "later transitions are delivered")
	})
}

// A panicking classifier goes up once; the call counts neither way, so a
// half-open probe's slot is freed.
func TestAPanickingClassifierFreesTheProbeSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var boom atomic.Bool
		b := breaker.MustNew(breaker.Config{WindowCalls: 1, HalfOpenCalls: 1, OpenBackoff: steady(), IsFailure: func(err error) bool {
			if boom.Load() {
				panic("classifier")
			}
			return true
		}})
		run(b, 1, errDown, 0)
		elapse(time.Second)
		boom.Store(true)
		assert.PanicsWithValue(t, "classifier", func() { run(b, 1, errDown, 0) })
		assert.Equal(t, breaker.HalfOpen, b.State())
		boom.Store(false)
		assert.NoError(t, run(b, 1, nil, 0), "the probe slot was freed for another probe")
		assert.Equal(t, breaker.Closed, b.State())
	})
}

// An OpenBackoff that panics leaves the breaker unlocked, in the state it
// was in.
func TestAPanickingOpenBackoffLeavesTheBreakerUnlocked(t *testing.T) {
	b := breaker.MustNew(breaker.Config{WindowCalls: 1, OpenBackoff: panicking{}})
	assert.PanicsWithValue(t, "backoff", func() { run(b, 1, errDown, 0) })
	assert.Equal(t, breaker.Closed, b.State())
	b.Reset()
	assert.NotPanics(t, func() { _ = b.Stats() })
}

type panicking struct{}

func (panicking) NextBackOff() time.Duration { panic("backoff") }
func (panicking) Reset()                     {}

// One BackOff given to two breakers is an error: it is not safe for
// concurrent use. A stateless one (a pointer to a zero-size value) may be
// shared.
func TestAnOpenBackoffIsOneBreakers(t *testing.T) {
	bo := steady()
	a, err := breaker.New(breaker.Config{OpenBackoff: bo})
	require.NoError(t, err)
	_, err = breaker.New(breaker.Config{Name: "second", OpenBackoff: bo})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "breaker: Config.OpenBackoff (*backoff.ExponentialBackOff")
	assert.Contains(t, err.Error(), "is already another breaker's")
	runtime.KeepAlive(a)
	for range 2 {
		_, err = breaker.New(breaker.Config{OpenBackoff: &backoff.ZeroBackOff{}})
		require.NoError(t, err)
	}
}

// The default open periods: never under DefaultOpenMin, each longer than
// the one before until they reach 4 min, then between 4 and 5 min, never
// over DefaultOpenMax.
func TestDefaultOpenPeriodsOnlyLengthen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for range 20 {
			b := breaker.MustNew(breaker.Config{WindowCalls: 1, HalfOpenCalls: 1})
			run(b, 1, errDown, 0)
			var prev time.Duration
			for i := range 20 {
				p := b.Stats().OpenPeriod
				require.GreaterOrEqual(t, p, breaker.DefaultOpenMin)
				require.LessOrEqual(t, p, breaker.DefaultOpenMax)
				if prev < 4*time.Minute {
					require.Greater(t, p, prev, "period %d", i)
				} else {
					require.GreaterOrEqual(t, p, 4*time.Minute)
				}
				prev = p
				elapse(p)
				run(b, 1, errDown, 0) // the probe fails: open again
			}
		}
	})
}
