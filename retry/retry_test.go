package retry_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ watertight.Policy = (*retry.Retry)(nil)

var errDown = errors.New("dependency down")

// constant is a deterministic backoff: every wait is d.
func constant(d time.Duration) func() backoff.BackOff {
	return func() backoff.BackOff { return backoff.NewConstantBackOff(d) }
}

// generous is a budget that never refuses, for tests about other rules.
func generous() *budget.Budget {
	return budget.MustNew(budget.Config{Ratio: 10, MinPerSecond: 1e6})
}

// script is a fn that returns its errors in turn (nil after the last),
// and records when each attempt started.
type script struct {
	errs  []error
	start time.Time
	at    []time.Duration
}

func (s *script) fn(context.Context) error {
	if s.start.IsZero() {
		s.start = time.Now()
	}
	s.at = append(s.at, time.Since(s.start))
	if i := len(s.at) - 1; i < len(s.errs) {
		return s.errs[i]
	}
	return nil
}

func TestSpecification(t *testing.T) {
	permanentCause := errors.New("bad request")
	for _, tc := range []struct {
		name     string
		cfg      retry.Config
		errs     []error
		attempts []time.Duration // when each attempt started
		check    func(t *testing.T, err error)
	}{
		{
			name:     "recovers on the third attempt, 100 ms apart",
			errs:     []error{errDown, errDown},
			attempts: []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond},
			check:    func(t *testing.T, err error) { assert.NoError(t, err) },
		},
		{
			name:     "gives up after MaxAttempts with the last error",
			errs:     []error{errors.New("first"), errors.New("second"), errDown},
			attempts: []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond},
			check: func(t *testing.T, err error) {
				var re *retry.Error
				require.ErrorAs(t, err, &re)
				assert.Equal(t, retry.ReasonAttempts, re.Reason)
				assert.Equal(t, 3, re.Attempts)
				assert.Same(t, errDown, re.Err)
				assert.ErrorIs(t, err, errDown)
				assert.ErrorIs(t, err, retry.ErrAttempts)
				assert.NotErrorIs(t, err, watertight.ErrRejected, "the dependency was called")
				assert.EqualError(t, err, `dependency down (retry "spec": 3 attempts, gave up: attempts exhausted)`)
			},
		},
		{
			name:     "MaxAttempts 1 makes no retry but says why it stopped",
			cfg:      retry.Config{MaxAttempts: 1},
			errs:     []error{errDown},
			attempts: []time.Duration{0},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, retry.ErrAttempts)
				assert.ErrorIs(t, err, errDown)
				assert.EqualError(t, err, `dependency down (retry "spec": 1 attempt, gave up: attempts exhausted)`)
			},
		},
		{
			name:     "a refusal inside is not retried and comes back unchanged",
			errs:     []error{bulkhead.ErrFull},
			attempts: []time.Duration{0},
			check:    func(t *testing.T, err error) { assert.Same(t, bulkhead.ErrFull, err) },
		},
		{
			name:     "Permanent stops at once and returns the error itself",
			errs:     []error{retry.Permanent(permanentCause)},
			attempts: []time.Duration{0},
			check:    func(t *testing.T, err error) { assert.Same(t, permanentCause, err) },
		},
		{
			name:     "a wrapped Permanent stops too, and comes back as wrapped",
			errs:     []error{fmt.Errorf("charge: %w", retry.Permanent(permanentCause))},
			attempts: []time.Duration{0},
			check: func(t *testing.T, err error) {
				assert.EqualError(t, err, "charge: bad request")
				assert.ErrorIs(t, err, permanentCause)
			},
		},
		{
			name:     "IsRetryable replaces the rules about errors",
			cfg:      retry.Config{IsRetryable: func(err error) bool { return errors.Is(err, bulkhead.ErrFull) }},
			errs:     []error{bulkhead.ErrFull, errDown},
			attempts: []time.Duration{0, 100 * time.Millisecond},
			check:    func(t *testing.T, err error) { assert.Same(t, errDown, err, "not retryable by its rule: unchanged") },
		},
		{
			name:     "IsRetryable cannot retry a Permanent error",
			cfg:      retry.Config{IsRetryable: func(error) bool { return true }},
			errs:     []error{retry.Permanent(permanentCause)},
			attempts: []time.Duration{0},
			check:    func(t *testing.T, err error) { assert.Same(t, permanentCause, err) },
		},
		{
			name:     "a hint is followed, its jitter capped at MaxDelay",
			cfg:      retry.Config{MaxDelay: time.Second},
			errs:     []error{hinted{time.Second}},
			attempts: []time.Duration{0, time.Second},
			check:    func(t *testing.T, err error) { assert.NoError(t, err) },
		},
		{
			name:     "a hint longer than MaxDelay ends the retries with the last error",
			cfg:      retry.Config{MaxDelay: 10 * time.Second},
			errs:     []error{hinted{time.Hour}},
			attempts: []time.Duration{0},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, retry.ErrRetryAfter)
				var re *retry.Error
				require.ErrorAs(t, err, &re)
				assert.Equal(t, retry.ReasonRetryAfter, re.Reason)
				assert.Equal(t, hinted{time.Hour}, re.Err)
			},
		},
		{
			name:     "a hint at the largest Duration does not overflow into retrying at once",
			cfg:      retry.Config{MaxDelay: 10 * time.Second},
			errs:     []error{hinted{math.MaxInt64}},
			attempts: []time.Duration{0},
			check:    func(t *testing.T, err error) { assert.ErrorIs(t, err, retry.ErrRetryAfter) },
		},
		{
			name:     "a negative hint means do not retry",
			errs:     []error{hinted{-1}},
			attempts: []time.Duration{0},
			check:    func(t *testing.T, err error) { assert.Equal(t, hinted{-1}, err) },
		},
		{
			name:     "a backoff that stops ends the retries",
			cfg:      retry.Config{Backoff: func() backoff.BackOff { return &backoff.StopBackOff{} }},
			errs:     []error{errDown},
			attempts: []time.Duration{0},
			check:    func(t *testing.T, err error) { assert.ErrorIs(t, err, retry.ErrAttempts) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := tc.cfg
				cfg.Name = "spec"
				if cfg.Backoff == nil {
					cfg.Backoff = constant(100 * time.Millisecond)
				}
				cfg.Budget = generous()
				r := retry.MustNew(cfg)
				s := &script{errs: tc.errs}
				tc.check(t, r.Do(t.Context(), s.fn))
				assert.Equal(t, tc.attempts, s.at)
				st := r.Stats()
				assert.Equal(t, uint64(1), st.Calls)
				assert.Equal(t, uint64(len(tc.attempts)), st.Attempts)
			})
		})
	}
}

// hinted is an error that says when to come back, as a 429 or 503 does.
type hinted struct{ after time.Duration }

func (h hinted) Error() string                 { return fmt.Sprintf("busy, come back in %v", h.after) }
func (h hinted) RetryAfterHint() time.Duration { return h.after }

// A hint longer than the time left before the deadline ends the retries at
// once (ReasonRetryAfter), and so does one longer than MaxDelay; one near
// the largest Duration too, which with its jitter used to overflow into a
// retry at once.
func TestHintsLongerThanTheRetryMayWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retry.MustNew(retry.Config{Budget: generous()})
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		s := &script{errs: []error{hinted{3 * time.Second}}}
		err := r.Do(ctx, s.fn)
		assert.ErrorIs(t, err, retry.ErrRetryAfter)
		assert.Equal(t, []time.Duration{0}, s.at, "no retry: the server asked for more than the time left")
		for _, h := range []time.Duration{math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64 / 10 * 9} {
			s := &script{errs: []error{hinted{h}}}
			assert.ErrorIs(t, r.Do(t.Context(), s.fn), retry.ErrRetryAfter, "hint %v", h)
			assert.Len(t, s.at, 1)
		}
		assert.Equal(t, uint64(4), r.Stats().GaveUp.RetryAfter)
	})
}

// A hint is followed with up to 10% of jitter, so that a fleet does not
// come back in step.
func TestHintJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retry.MustNew(retry.Config{Budget: generous()})
		for range 20 {
			s := &script{errs: []error{hinted{200 * time.Millisecond}}}
			require.NoError(t, r.Do(t.Context(), s.fn))
			assert.GreaterOrEqual(t, s.at[1], 200*time.Millisecond)
			assert.LessOrEqual(t, s.at[1], 220*time.Millisecond)
		}
	})
}

// 100 ms left and a 1 s backoff: Do returns at once, with the last error,
// and no time passes.
func TestNeverWaitsPastTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retry.MustNew(retry.Config{Backoff: constant(time.Second), Budget: generous()})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := r.Do(ctx, func(context.Context) error { return errDown })
		assert.Zero(t, time.Since(start), "no time passed")
		var re *retry.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, retry.ReasonDeadline, re.Reason)
		assert.ErrorIs(t, err, errDown)
		assert.ErrorIs(t, err, retry.ErrDeadline)
		assert.Equal(t, uint64(1), r.Stats().GaveUp.Deadline)
	})
}

// A ctx cancelled during a wait: Do returns at once, with the last error
// inside, not a bare ctx.Err().
func TestCancelledDuringAWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retry.MustNew(retry.Config{Backoff: constant(time.Second), Budget: generous()})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(300*time.Millisecond, cancel)
		start := time.Now()
		err := r.Do(ctx, func(context.Context) error { return errDown })
		assert.Equal(t, 300*time.Millisecond, time.Since(start))
		assert.ErrorIs(t, err, errDown)
		assert.ErrorIs(t, err, retry.ErrDeadline)
		assert.Equal(t, 300*time.Millisecond, r.Stats().Waited.Total)
	})
}

// The caller's own cancellation during an attempt comes back unchanged,
// and is not retried.
func TestCallersCancellationDuringAnAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retry.MustNew(retry.Config{Budget: generous()})
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		err := r.Do(ctx, func(ctx context.Context) error {
			calls++
			cancel()
			return ctx.Err()
		})
		assert.Same(t, context.Canceled, err)
		assert.Equal(t, 1, calls)
	})
}

// An inner attempt timeout is retried: its ErrExceeded still matches
// through the *Error.
func TestAttemptTimeoutIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retry.MustNew(retry.Config{Backoff: constant(10 * time.Millisecond), Budget: generous()})
		attempt := timeout.MustNew(timeout.Config{Name: "attempt", Duration: 50 * time.Millisecond})
		calls := 0
		err := watertight.Chain(r, attempt).Do(t.Context(), func(ctx context.Context) error {
			calls++
			<-ctx.Done()
			return ctx.Err()
		})
		assert.Equal(t, 3, calls)
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		assert.ErrorIs(t, err, retry.ErrAttempts)
	})
}

// Two Retries share one budget: one of them drains it, and the other's
// retries are refused.
func TestSharedBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := budget.MustNew(budget.Config{Ratio: 0.1, MinPerSecond: 0.5}) // 5 retries per 10 s, on top
		a := retry.MustNew(retry.Config{Name: "a", Budget: shared, Backoff: constant(time.Millisecond)})
		b := retry.MustNew(retry.Config{Name: "b", Budget: shared, Backoff: constant(time.Millisecond)})
		assert.Same(t, shared, a.Budget())
		for range 5 {
			_ = a.Do(t.Context(), func(context.Context) error { return errDown })
		}
		err := b.Do(t.Context(), func(context.Context) error { return errDown })
		assert.ErrorIs(t, err, retry.ErrBudget)
		assert.ErrorIs(t, err, errDown, "the budget's refusal keeps the last error")
		assert.Equal(t, uint64(1), b.Stats().GaveUp.Budget)
		assert.Equal(t, uint64(6), shared.Stats().Deposits)
	})
}

// Deposits expire after the budget's Window: retries earned by calls a
// minute ago are not there to spend.
func TestDepositsExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retry.MustNew(retry.Config{Budget: budget.MustNew(budget.Config{Ratio: 0.5, MinPerSecond: -1}), Backoff: constant(time.Millisecond)})
		for range 4 {
			require.NoError(t, r.Do(t.Context(), func(context.Context) error { return nil }))
		}
		<-time.After(11 * time.Second)
		err := r.Do(t.Context(), func(context.Context) error { return errDown })
		assert.ErrorIs(t, err, retry.ErrBudget, "2.5 retries earned, 2 of them by deposits now expired")
	})
}

// A breaker inside the chain opens: its refusal stops the retries at once.
func TestOpenBreakerStopsTheRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retry.MustNew(retry.Config{MaxAttempts: 10, Backoff: constant(time.Millisecond), Budget: generous()})
		b := breaker.MustNew(breaker.Config{WindowCalls: 2, OpenBackoff: backoff.NewConstantBackOff(time.Minute)})
		calls := 0
		err := watertight.Chain(r, b).Do(t.Context(), func(context.Context) error {
			calls++
			return errDown
		})
		assert.Equal(t, 2, calls, "two failures open the breaker; the third attempt is refused")
		assert.ErrorIs(t, err, breaker.ErrOpen)
		d, ok := watertight.RetryAfter(err)
		assert.True(t, ok)
		assert.Equal(t, time.Minute, d)
	})
}

func TestOnRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []retry.Attempt
		r := retry.MustNew(retry.Config{Name: "payments", Backoff: constant(20 * time.Millisecond), Budget: generous(),
			OnRetry: func(a retry.Attempt) { got = append(got, a) }})
		s := &script{errs: []error{errDown, errDown}}
		require.NoError(t, r.Do(t.Context(), s.fn))
		assert.Equal(t, []retry.Attempt{
			{Name: "payments", Attempt: 1, Err: errDown, Delay: 20 * time.Millisecond},
			{Name: "payments", Attempt: 2, Err: errDown, Delay: 20 * time.Millisecond},
		}, got)
		st := r.Stats()
		assert.Equal(t, uint64(2), st.Retries)
		assert.Equal(t, uint64(1), st.Recovered)
		assert.Equal(t, uint64(2), st.Waited.Count)
		assert.Equal(t, 40*time.Millisecond, st.Waited.Total)
	})
}

// The default backoff: full jitter under 50 ms, 100 ms, 200 ms ...
func TestDefaultBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retry.MustNew(retry.Config{MaxAttempts: 5, Budget: generous()})
		for range 50 {
			s := &script{errs: []error{errDown, errDown, errDown, errDown}}
			require.NoError(t, r.Do(t.Context(), s.fn))
			for i := 1; i < len(s.at); i++ {
				wait := s.at[i] - s.at[i-1]
				assert.LessOrEqual(t, wait, 50*time.Millisecond<<(i-1), "wait %d", i)
			}
		}
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  retry.Config
		want string
	}{
		{retry.Config{MaxAttempts: -1}, "retry: Config.MaxAttempts must be in 0..10 (0: 3), got -1"},
		{retry.Config{MaxAttempts: 11}, "retry: Config.MaxAttempts must be in 0..10 (0: 3), got 11"},
		{retry.Config{MaxDelay: -time.Second}, "retry: Config.MaxDelay must be >= 0, got -1s"},
		{retry.Config{MaxDelay: 10}, "retry: Config.MaxDelay must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{retry.Config{Backoff: func() backoff.BackOff { return nil }}, "retry: Config.Backoff returned a nil backoff.BackOff; it must return a new one each call"},
		{retry.Config{Backoff: func() backoff.BackOff { return (*backoff.ExponentialBackOff)(nil) }}, "retry: Config.Backoff returned a nil backoff.BackOff; it must return a new one each call"},
	} {
		r, err := retry.New(tc.cfg)
		assert.Nil(t, r)
		assert.EqualError(t, err, tc.want)
		assert.PanicsWithError(t, tc.want, func() { retry.MustNew(tc.cfg) })
	}
}

func TestMisuse(t *testing.T) {
	r := retry.MustNew(retry.Config{})
	assert.EqualError(t, r.Do(t.Context(), nil), "retry: Do called with a nil fn")
	var zero retry.Retry
	assert.EqualError(t, zero.Do(t.Context(), func(context.Context) error { return nil }), "retry: Retry not created with New")
	var nilRetry *retry.Retry
	assert.EqualError(t, nilRetry.Do(t.Context(), func(context.Context) error { return nil }), "retry: Do called on a nil *Retry")
	assert.Nil(t, retry.Permanent(nil))
	assert.Equal(t, "attempts", retry.ReasonAttempts.String())
	assert.Equal(t, "Reason(9)", retry.Reason(9).String())
}

// A panic is not retried: it goes up the caller's stack, once.
func TestPanicIsNotRetried(t *testing.T) {
	r := retry.MustNew(retry.Config{Budget: generous()})
	calls := 0
	assert.PanicsWithValue(t, "boom", func() {
		_ = r.Do(t.Context(), func(context.Context) error { calls++; panic("boom") })
	})
	assert.Equal(t, 1, calls)
	calls = 0
	assert.PanicsWithValue(t, "boom", func() {
		_ = r.Do(t.Context(), func(context.Context) error {
			calls++
			if calls == 2 {
				panic("boom")
			}
			return errDown
		})
	})
	assert.Equal(t, 2, calls)
}

// A Budget that is the zero value is the default one (budget's zero value
// is ready, as New(Config{})'s), not one that refuses every retry.
func TestAZeroBudgetIsTheDefaultOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := retry.MustNew(retry.Config{Budget: new(budget.Budget), Backoff: constant(time.Millisecond)})
		s := &script{errs: []error{errDown}}
		require.NoError(t, r.Do(t.Context(), s.fn))
		assert.Len(t, s.at, 2)
	})
}

// A Backoff func that returns one BackOff for every call is an error: it
// is not safe for concurrent use. One that holds no state may be.
func TestABackoffFuncMustReturnANewOne(t *testing.T) {
	shared := backoff.NewConstantBackOff(time.Millisecond)
	_, err := retry.New(retry.Config{Backoff: func() backoff.BackOff { return shared }})
	assert.EqualError(t, err, "retry: Config.Backoff returned the same backoff.BackOff twice; it must return a new one each call (one is not safe for concurrent use)")
	_, err = retry.New(retry.Config{Backoff: func() backoff.BackOff { return &backoff.ZeroBackOff{} }})
	assert.NoError(t, err)
}
