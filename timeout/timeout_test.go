package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/timeout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ watertight.Policy = (*timeout.Timeout)(nil)

var errBoom = errors.New("boom")

// elapse lets d pass on the synctest bubble's fake clock: fn's own work in
// these tests, which may ignore its context, or time passing for Remaining.
func elapse(d time.Duration) { <-time.After(d) }

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  timeout.Config
		want string
	}{
		{timeout.Config{}, "timeout: Config.Duration must be > 0, got 0s"},
		{timeout.Config{Duration: -time.Second}, "timeout: Config.Duration must be > 0, got -1s"},
		{timeout.Config{Duration: time.Second, MinRemaining: -1}, "timeout: Config.MinRemaining must be >= 0, got -1ns"},
		{timeout.Config{Duration: 10}, "timeout: Config.Duration must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{timeout.Config{Duration: 900 * time.Microsecond}, "timeout: Config.Duration must be 0 or at least 1ms, got 900µs"},
		{timeout.Config{Duration: time.Second, OnLate: func(timeout.Late) {}}, "timeout: Config.OnLate is set but Config.Abandon is false: only abandoned calls are late"},
	} {
		to, err := timeout.New(tc.cfg)
		assert.Nil(t, to)
		assert.EqualError(t, err, tc.want)
		assert.PanicsWithError(t, tc.want, func() { timeout.MustNew(tc.cfg) })
	}
}

func TestPackageDoRejectsNonPositiveDurationWithoutCallingFn(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Millisecond} {
		err := timeout.Do(t.Context(), d, func(context.Context) error { t.Error("fn called"); return nil })
		assert.EqualError(t, err, fmt.Sprintf("timeout: Do: d must be at least 1ms, got %v", d))
	}
}

func TestErrExceededBehavesLikeDeadlineExceeded(t *testing.T) {
	assert.ErrorIs(t, timeout.ErrExceeded, context.DeadlineExceeded)
	var te interface{ Timeout() bool }
	require.ErrorAs(t, timeout.ErrExceeded, &te)
	assert.True(t, te.Timeout())
	assert.ErrorIs(t, timeout.ErrNoBudget, timeout.ErrExceeded)
	assert.ErrorIs(t, timeout.ErrNoBudget, context.DeadlineExceeded)
	assert.NotErrorIs(t, timeout.ErrExceeded, watertight.ErrRejected, "the call did run")
}

func TestFnErrorBeforeDeadlinePassesThroughUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: time.Second})
		err := to.Do(t.Context(), func(context.Context) error { elapse(10 * time.Millisecond); return errBoom })
		assert.Same(t, errBoom, err)
		assert.NoError(t, to.Do(t.Context(), func(context.Context) error { return nil }))
		st := to.Stats()
		assert.Equal(t, uint64(2), st.Calls)
		assert.Zero(t, st.Exceeded)
		assert.Equal(t, 10*time.Millisecond, st.Duration.Max)
	})
}

func TestFnSeesARealDeadlineAndOurCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Name: "db", Duration: 20 * time.Millisecond})
		start := time.Now()
		err := to.Do(t.Context(), func(ctx context.Context) error {
			deadline, ok := ctx.Deadline()
			assert.True(t, ok)
			assert.Equal(t, start.Add(20*time.Millisecond), deadline)
			assert.NoError(t, context.Cause(ctx))
			<-ctx.Done()
			assert.ErrorIs(t, context.Cause(ctx), timeout.ErrExceeded)
			assert.Equal(t, context.DeadlineExceeded, ctx.Err())
			return ctx.Err()
		})
		assert.Equal(t, 20*time.Millisecond, time.Since(start))
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.EqualError(t, err, `timeout "db": deadline of 20ms exceeded: context deadline exceeded`)
		var te interface{ Timeout() bool }
		require.ErrorAs(t, err, &te)
		assert.True(t, te.Timeout())
		st := to.Stats()
		assert.Equal(t, uint64(1), st.Exceeded)
		assert.Zero(t, st.Canceled)
	})
}

func TestCooperativeWaitsForFnThatIgnoresItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: 20 * time.Millisecond})
		start := time.Now()
		err := to.Do(t.Context(), func(ctx context.Context) error {
			elapse(300 * time.Millisecond) // does not look at ctx
			return fmt.Errorf("query: %w", ctx.Err())
		})
		assert.Equal(t, 300*time.Millisecond, time.Since(start), "cooperative: Do returns when fn does")
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestErrorAfterOurDeadlineWrapsFnsError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: 20 * time.Millisecond})
		err := to.Do(t.Context(), func(ctx context.Context) error {
			<-ctx.Done()
			return errBoom // e.g. the driver's own "query canceled" error
		})
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		assert.ErrorIs(t, err, errBoom)
	})
}

func TestSuccessAfterOurDeadlineIsNilButCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: 20 * time.Millisecond})
		err := to.Do(t.Context(), func(ctx context.Context) error { elapse(50 * time.Millisecond); return nil })
		assert.NoError(t, err)
		assert.Equal(t, uint64(1), to.Stats().Exceeded)
	})
}

func TestCallersEarlierDeadlineIsTheCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		err := to.Do(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		assert.Equal(t, context.DeadlineExceeded, err)
		assert.NotErrorIs(t, err, timeout.ErrExceeded)
		st := to.Stats()
		assert.Equal(t, uint64(1), st.Canceled)
		assert.Zero(t, st.Exceeded)
	})
}

func TestCallerCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: time.Second})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(10*time.Millisecond, cancel)
		err := to.Do(ctx, func(ctx context.Context) error { <-ctx.Done(); return errBoom })
		assert.Same(t, context.Canceled, err)
		assert.Equal(t, uint64(1), to.Stats().Canceled)

		// A ctx already done: fn is not called.
		err = to.Do(ctx, func(context.Context) error { t.Error("fn called"); return nil })
		assert.Same(t, context.Canceled, err)
		assert.Equal(t, uint64(2), to.Stats().Canceled)
		assert.Equal(t, uint64(1), to.Stats().Calls)
	})
}

func TestNestedInnerFiresFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		outer := timeout.MustNew(timeout.Config{Name: "outer", Duration: time.Second})
		inner := timeout.MustNew(timeout.Config{Name: "inner", Duration: 10 * time.Millisecond})
		var innerErr error
		err := outer.Do(t.Context(), func(ctx context.Context) error {
			innerErr = inner.Do(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
			return innerErr
		})
		assert.ErrorIs(t, innerErr, timeout.ErrExceeded)
		assert.Same(t, innerErr, err, "the outer passes the inner's error through")
		assert.Contains(t, err.Error(), `"inner"`)
		assert.Equal(t, uint64(1), inner.Stats().Exceeded)
		assert.Zero(t, outer.Stats().Exceeded)
	})
}

func TestNestedOuterFiresFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		outer := timeout.MustNew(timeout.Config{Name: "outer", Duration: 10 * time.Millisecond})
		inner := timeout.MustNew(timeout.Config{Name: "inner", Duration: time.Second})
		var innerErr error
		err := outer.Do(t.Context(), func(ctx context.Context) error {
			innerErr = inner.Do(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
			return innerErr
		})
		assert.Equal(t, context.DeadlineExceeded, innerErr, "for the inner, the outer's deadline is the caller's")
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		assert.Contains(t, err.Error(), `"outer"`)
		assert.Equal(t, uint64(1), inner.Stats().Canceled)
		assert.Equal(t, uint64(1), outer.Stats().Exceeded)
	})
}

func TestEachCallHasItsOwnCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: time.Millisecond})
		var causes []error
		for range 2 {
			_ = to.Do(t.Context(), func(ctx context.Context) error {
				<-ctx.Done()
				causes = append(causes, context.Cause(ctx))
				return nil
			})
		}
		require.Len(t, causes, 2)
		assert.NotSame(t, causes[0], causes[1])
		assert.ErrorIs(t, causes[0], timeout.ErrExceeded)
		assert.ErrorIs(t, causes[1], timeout.ErrExceeded)
	})
}

func TestCooperativePanicGoesToCallerAndCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: time.Second})
		var fnCtx context.Context
		func() {
			defer func() { assert.Equal(t, "bad", recover()) }()
			_ = to.Do(t.Context(), func(ctx context.Context) error { fnCtx = ctx; panic("bad") })
		}()
		assert.ErrorIs(t, fnCtx.Err(), context.Canceled, "fn's context is released")
		assert.Equal(t, uint64(1), to.Stats().Calls)
	})
}

func TestNilFn(t *testing.T) {
	to := timeout.MustNew(timeout.Config{Duration: time.Second})
	assert.EqualError(t, to.Do(t.Context(), nil), "timeout: Do called with a nil fn")
	assert.EqualError(t, timeout.Do(t.Context(), time.Second, nil), "timeout: Do called with a nil fn")
}

func TestRemaining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ok := timeout.Remaining(context.Background())
		assert.False(t, ok)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		elapse(300 * time.Millisecond)
		left, ok := timeout.Remaining(ctx)
		assert.True(t, ok)
		assert.Equal(t, 700*time.Millisecond, left)
		elapse(time.Second)
		left, ok = timeout.Remaining(ctx)
		assert.True(t, ok)
		assert.Zero(t, left)
	})
}

func TestMinRemainingRefusesToStartACallThatCannotFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: time.Second, MinRemaining: 100 * time.Millisecond})
		ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
		defer cancel()
		require.NoError(t, to.Do(ctx, func(context.Context) error { elapse(60 * time.Millisecond); return nil }))
		// 90ms left now: not enough.
		err := to.Do(ctx, func(context.Context) error { t.Error("fn called"); return nil })
		assert.Same(t, timeout.ErrNoBudget, err)
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		st := to.Stats()
		assert.Equal(t, uint64(1), st.Refused)
		assert.Equal(t, uint64(1), st.Calls)
		// No deadline at all: no budget to check.
		require.NoError(t, to.Do(t.Context(), func(context.Context) error { return nil }))
	})
}

func TestAbandonReturnsAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lates := make(chan timeout.Late, 1)
		to := timeout.MustNew(timeout.Config{Name: "legacy", Duration: 20 * time.Millisecond, Abandon: true,
			OnLate: func(l timeout.Late) { lates <- l }})
		start := time.Now()
		err := to.Do(t.Context(), func(ctx context.Context) error {
			elapse(300 * time.Millisecond) // ignores ctx
			return errBoom
		})
		assert.Equal(t, 20*time.Millisecond, time.Since(start), "abandon: Do returns at the deadline")
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		assert.EqualError(t, err, `timeout "legacy": deadline of 20ms exceeded`)
		st := to.Stats()
		assert.Equal(t, int64(1), st.Abandoned)
		assert.Equal(t, uint64(1), st.Exceeded)
		assert.Equal(t, 20*time.Millisecond, st.Duration.Max)

		l := <-lates
		assert.Equal(t, 300*time.Millisecond, time.Since(start))
		assert.Equal(t, "legacy", l.Name)
		assert.Same(t, errBoom, l.Err)
		assert.Equal(t, 300*time.Millisecond, l.Elapsed)
		assert.Nil(t, l.Panic)
		synctest.Wait()
		assert.Zero(t, to.Stats().Abandoned)
	})
}

func TestAbandonFnFinishingInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: time.Second, Abandon: true,
			OnLate: func(timeout.Late) { t.Error("not late") }})
		err := to.Do(t.Context(), func(ctx context.Context) error { elapse(time.Millisecond); return errBoom })
		assert.Same(t, errBoom, err)
		assert.NoError(t, to.Do(t.Context(), func(ctx context.Context) error { return nil }))
		assert.Zero(t, to.Stats().Abandoned)
		assert.Zero(t, to.Stats().Exceeded)
	})
}

func TestAbandonCallerCancellationReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lates := make(chan timeout.Late, 1)
		to := timeout.MustNew(timeout.Config{Duration: time.Second, Abandon: true, OnLate: func(l timeout.Late) { lates <- l }})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(10*time.Millisecond, cancel)
		start := time.Now()
		err := to.Do(ctx, func(context.Context) error { elapse(100 * time.Millisecond); return nil })
		assert.Equal(t, 10*time.Millisecond, time.Since(start))
		assert.Same(t, context.Canceled, err)
		st := to.Stats()
		assert.Equal(t, uint64(1), st.Canceled)
		assert.Zero(t, st.Exceeded)
		assert.NoError(t, (<-lates).Err)
	})
}

func TestAbandonPanicBeforeDeadlineGoesToCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: time.Second, Abandon: true})
		value := errors.New("panic value")
		func() {
			defer func() { assert.Same(t, value, recover()) }()
			_ = to.Do(t.Context(), func(context.Context) error { panic(value) })
		}()
		assert.Zero(t, to.Stats().LatePanics)
	})
}

func TestAbandonPanicAfterDeadlineGoesToOnLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lates := make(chan timeout.Late, 1)
		to := timeout.MustNew(timeout.Config{Duration: 10 * time.Millisecond, Abandon: true, OnLate: func(l timeout.Late) { lates <- l }})
		err := to.Do(t.Context(), func(context.Context) error {
			elapse(50 * time.Millisecond)
			panic("late boom")
		})
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		l := <-lates
		assert.Equal(t, "late boom", l.Panic)
		assert.Contains(t, string(l.Stack), "timeout_test.TestAbandonPanicAfterDeadlineGoesToOnLate")
		synctest.Wait()
		st := to.Stats()
		assert.Equal(t, uint64(1), st.LatePanics)
		assert.Zero(t, st.Abandoned)
	})
}

func TestAbandonGoexitDoesNotHangTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: time.Hour, Abandon: true})
		start := time.Now()
		err := to.Do(t.Context(), func(context.Context) error { runtime.Goexit(); return nil })
		assert.EqualError(t, err, "timeout: fn called runtime.Goexit")
		assert.Zero(t, time.Since(start))
	})
}

// Many goroutines, every outcome, both modes, under -race: afterwards no
// call is still counted as abandoned and no goroutine is left (synctest.Test
// itself fails if one is).
func TestHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lates atomic.Int64
		coop := timeout.MustNew(timeout.Config{Duration: 5 * time.Millisecond})
		abandon := timeout.MustNew(timeout.Config{Duration: 5 * time.Millisecond, Abandon: true,
			OnLate: func(timeout.Late) { lates.Add(1) }})
		var wg sync.WaitGroup
		var calls atomic.Int64
		for g := range 32 {
			wg.Go(func() {
				for i := range 40 {
					to := coop
					if (g+i)%2 == 0 {
						to = abandon
					}
					ctx, cancel := context.WithTimeout(t.Context(), time.Duration(1+(g*7+i)%9)*time.Millisecond)
					work := time.Duration((g*3+i)%10) * time.Millisecond
					func() {
						defer func() {
							if r := recover(); r != nil && r != "hammer" {
								t.Errorf("panic changed: %v", r)
							}
						}()
						calls.Add(1)
						_ = to.Do(ctx, func(ctx context.Context) error {
							switch i % 4 {
							case 0:
								elapse(work) // ignores ctx
								return nil
							case 1:
								select {
								case <-time.After(work):
									return errBoom
								case <-ctx.Done():
									return ctx.Err()
								}
							case 2:
								if work < time.Millisecond {
									panic("hammer")
								}
								elapse(work)
								return nil
							}
							return nil
						})
					}()
					cancel()
				}
			})
		}
		wg.Wait()
		synctest.Wait() // abandoned calls finish
		for _, to := range []*timeout.Timeout{coop, abandon} {
			st := to.Stats()
			assert.Zero(t, st.Abandoned)
			assert.Equal(t, st.Calls, st.Duration.Count)
		}
		// Every call started fn: fake time does not pass before Do runs.
		assert.Equal(t, uint64(calls.Load()), coop.Stats().Calls+abandon.Stats().Calls)
		assert.Positive(t, lates.Load())
		assert.Positive(t, coop.Stats().Exceeded)
		assert.Positive(t, abandon.Stats().Canceled)
	})
}
