package hedge_test

import (
	"context"
	"errors"
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
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/retry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ watertight.Policy = (*hedge.Hedge)(nil)

var errDown = errors.New("dependency down")

// work takes d, or returns ctx's error if it ends first.
func work(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func generous() *budget.Budget { return budget.MustNew(budget.Config{Ratio: 10, MinPerSecond: 1e6}) }

// attempts runs fn as attempt 0, 1, 2 ... in the order they start, and
// records when each started and how it ended.
type attempts struct {
	start time.Time
	fn    func(i int, ctx context.Context) error

	mu      sync.Mutex
	n       int
	started [8]time.Duration
	ended   [8]error
}

func (a *attempts) do(ctx context.Context) error {
	a.mu.Lock()
	i := a.n
	a.n++
	a.started[i] = time.Since(a.start)
	a.mu.Unlock()
	err := a.fn(i, ctx)
	a.mu.Lock()
	a.ended[i] = err
	a.mu.Unlock()
	return err
}

// report returns how many attempts started, when, and how those that
// returned ended.
func (a *attempts) report() (n int, started [8]time.Duration, ended [8]error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n, a.started, a.ended
}

// A call that returns before the delay starts no goroutine and no hedge.
func TestFastCallStartsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Delay: 100 * time.Millisecond, Budget: generous()})
		before := runtime.NumGoroutine()
		for range 10 {
			require.NoError(t, h.Do(t.Context(), func(ctx context.Context) error {
				// At most as many: a goroutine of an earlier test may end meanwhile.
				assert.LessOrEqual(t, runtime.NumGoroutine(), before, "no goroutine while the first attempt runs")
				return work(ctx, 10*time.Millisecond)
			}))
		}
		<-time.After(time.Second) // a timer that was not stopped would fire now
		assert.LessOrEqual(t, runtime.NumGoroutine(), before)
		st := h.Stats()
		assert.Equal(t, uint64(10), st.Calls)
		assert.Zero(t, st.Hedges)
	})
}

// A slow call hedges after exactly Delay; the hedge wins; the first
// attempt's ctx is cancelled and Do returns once it has returned.
func TestSlowCallHedgesAfterTheDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Delay: 100 * time.Millisecond, Budget: generous()})
		a := &attempts{start: time.Now(), fn: func(i int, ctx context.Context) error {
			if i == 0 {
				return work(ctx, time.Second)
			}
			return work(ctx, 20*time.Millisecond)
		}}
		require.NoError(t, h.Do(t.Context(), a.do))
		assert.Equal(t, 120*time.Millisecond, time.Since(a.start), "the hedge's answer, at once")
		_, started, ended := a.report()
		assert.Equal(t, 100*time.Millisecond, started[1])
		assert.ErrorIs(t, ended[0], context.Canceled, "the loser's ctx was cancelled")
		st := h.Stats()
		assert.Equal(t, uint64(1), st.Hedges)
		assert.Equal(t, uint64(1), st.HedgeWins)
		assert.Zero(t, st.Running)
	})
}

// MaxHedges extra attempts at most, a Delay apart; the first answer wins
// and the hedges that lose are cancelled, counted in Running until they
// return.
func TestMaxHedges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Delay: 100 * time.Millisecond, MaxHedges: 3, Budget: generous()})
		stuck := make(chan struct{})
		a := &attempts{start: time.Now(), fn: func(i int, ctx context.Context) error {
			if i == 3 {
				<-stuck // a loser that ignores its ctx for a while
				return ctx.Err()
			}
			return work(ctx, time.Second)
		}}
		require.NoError(t, h.Do(t.Context(), a.do))
		assert.Equal(t, time.Second, time.Since(a.start), "the first attempt answered first")
		n, started, _ := a.report()
		assert.Equal(t, 4, n)
		assert.Equal(t, [8]time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}, started)
		synctest.Wait()
		assert.Equal(t, 1, h.Stats().Running, "the stuck loser runs on")
		close(stuck)
		synctest.Wait()
		assert.Zero(t, h.Stats().Running)
		assert.Zero(t, h.Stats().HedgeWins)
	})
}

// A retryable failure starts the next hedge at once.
func TestRetryableFailureHedgesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Delay: 100 * time.Millisecond, Budget: generous()})
		a := &attempts{start: time.Now(), fn: func(i int, ctx context.Context) error {
			if i == 0 {
				<-time.After(10 * time.Millisecond)
				return errDown
			}
			return work(ctx, 5*time.Millisecond)
		}}
		require.NoError(t, h.Do(t.Context(), a.do))
		_, started, _ := a.report()
		assert.Equal(t, 10*time.Millisecond, started[1], "not at the delay: at the failure")
		assert.Equal(t, 15*time.Millisecond, time.Since(a.start))
	})
}

// A failure that is not retryable returns at once, unchanged, without a
// hedge.
func TestNonRetryableFailureReturnsWithoutHedging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Delay: 100 * time.Millisecond, Budget: generous()})
		bad := errors.New("bad request")
		for _, err := range []error{bulkhead.ErrFull, retry.Permanent(bad)} {
			start := time.Now()
			got := h.Do(t.Context(), func(context.Context) error { <-time.After(10 * time.Millisecond); return err })
			assert.Same(t, err, got)
			assert.Equal(t, 10*time.Millisecond, time.Since(start))
		}
		assert.Zero(t, h.Stats().Hedges)
	})
}

// Every attempt fails: Do returns the first attempt's error.
func TestAllFailReturnsTheFirstError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Delay: 100 * time.Millisecond, MaxHedges: 2, Budget: generous()})
		errFirst, errLater := errors.New("first"), errors.New("later")
		a := &attempts{start: time.Now(), fn: func(i int, ctx context.Context) error {
			<-time.After(time.Duration(10*(i+1)) * time.Millisecond)
			if i == 0 {
				return errFirst
			}
			return errLater
		}}
		assert.Same(t, errFirst, h.Do(t.Context(), a.do))
		n, _, _ := a.report()
		assert.Equal(t, 3, n, "each failure started the next hedge")
		assert.Equal(t, uint64(2), h.Stats().Hedges)
	})
}

// The budget refuses: no hedge, and the call runs its first attempt out.
func TestBudgetRefusal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget.MustNew(budget.Config{Ratio: 0.01, MinPerSecond: -1})
		h := hedge.MustNew(hedge.Config{Delay: 100 * time.Millisecond, Budget: b})
		start := time.Now()
		require.NoError(t, h.Do(t.Context(), func(ctx context.Context) error { return work(ctx, time.Second) }))
		assert.Equal(t, time.Second, time.Since(start))
		st := h.Stats()
		assert.Zero(t, st.Hedges)
		assert.Equal(t, uint64(1), st.Refused)
		assert.Equal(t, uint64(1), b.Stats().Refused)
		assert.Same(t, b, h.Budget())
	})
}

// Call through a hedge returns the winner's value, without a data race.
func TestCallReturnsTheWinnersValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Delay: 50 * time.Millisecond, Budget: generous()})
		var n atomic.Int32
		v, err := watertight.Call(t.Context(), h, func(ctx context.Context) (string, error) {
			if n.Add(1) == 1 {
				return "first", work(ctx, time.Second)
			}
			return "hedge", work(ctx, 10*time.Millisecond)
		})
		require.NoError(t, err)
		assert.Equal(t, "hedge", v)
	})
}

// A panic on the caller's goroutine goes up its stack, and the hedges are
// cancelled; a hedge's panic while the call is undecided is re-panicked in
// the caller, with the hedge's stack.
func TestPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Delay: 10 * time.Millisecond, Budget: generous()})
		var hedgeCtx context.Context
		assert.PanicsWithValue(t, "first", func() {
			var n atomic.Int32
			_ = h.Do(t.Context(), func(ctx context.Context) error {
				if n.Add(1) == 1 {
					<-time.After(20 * time.Millisecond)
					panic("first")
				}
				hedgeCtx = ctx
				return work(ctx, time.Second)
			})
		})
		synctest.Wait()
		assert.ErrorIs(t, hedgeCtx.Err(), context.Canceled)
		assert.Zero(t, h.Stats().Running)

		var pe *hedge.PanicError
		func() {
			defer func() { pe, _ = recover().(*hedge.PanicError) }()
			var n atomic.Int32
			_ = h.Do(t.Context(), func(ctx context.Context) error {
				if n.Add(1) == 1 {
					return work(ctx, time.Second)
				}
				panic("hedge")
			})
		}()
		require.NotNil(t, pe)
		assert.Equal(t, "hedge", pe.Value)
		assert.Contains(t, string(pe.Stack), "hedge_test.go")
	})
}

// Until Warmup attempts an adaptive delay hedges only on failures; then it
// follows the attempts' p95.
func TestAdaptiveDelayWarmsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Budget: generous()})
		for i := range hedge.Warmup - 1 {
			d := 10 * time.Millisecond
			if i%10 == 0 {
				d = 200 * time.Millisecond // slow, but no hedge yet: no delay learned
			}
			require.NoError(t, h.Do(t.Context(), func(ctx context.Context) error { return work(ctx, d) }))
		}
		assert.Zero(t, h.Stats().Delay)
		assert.Zero(t, h.Stats().Hedges)
		require.NoError(t, h.Do(t.Context(), func(ctx context.Context) error { return work(ctx, 10*time.Millisecond) }))
		assert.InEpsilon(t, float64(200*time.Millisecond), float64(h.Stats().Delay), 0.07, "p95 of 10% at 200 ms")
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  hedge.Config
		want string
	}{
		{hedge.Config{Delay: -1}, "hedge: Config.Delay must be >= 0, got -1ns"},
		{hedge.Config{Delay: 10}, "hedge: Config.Delay must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{hedge.Config{Quantile: 1}, "hedge: Config.Quantile must be in (0, 1), got 1"},
		{hedge.Config{Quantile: -0.5}, "hedge: Config.Quantile must be in (0, 1), got -0.5"},
		{hedge.Config{Quantile: 0.9, Delay: time.Second}, "hedge: Config.Quantile (0.9) is set with a fixed Config.Delay (1s); set one of them"},
		{hedge.Config{MaxHedges: 5}, "hedge: Config.MaxHedges must be in 0..4 (0: 1), got 5"},
		{hedge.Config{MaxHedges: -1}, "hedge: Config.MaxHedges must be in 0..4 (0: 1), got -1"},
	} {
		h, err := hedge.New(tc.cfg)
		assert.Nil(t, h)
		assert.EqualError(t, err, tc.want)
		assert.PanicsWithError(t, tc.want, func() { hedge.MustNew(tc.cfg) })
	}
}

func TestMisuse(t *testing.T) {
	h := hedge.MustNew(hedge.Config{Name: "x"})
	assert.Equal(t, "x", h.Name())
	assert.EqualError(t, h.Do(t.Context(), nil), "hedge: Do called with a nil fn")
	var zero hedge.Hedge
	assert.EqualError(t, zero.Do(t.Context(), func(context.Context) error { return nil }), "hedge: Hedge not created with New")
	var nilHedge *hedge.Hedge
	assert.EqualError(t, nilHedge.Do(t.Context(), func(context.Context) error { return nil }), "hedge: Do called on a nil *Hedge")
}
