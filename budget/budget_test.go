package budget_test

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/budget"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  budget.Config
		want string
	}{
		{budget.Config{Ratio: -0.1}, "budget: Config.Ratio must be in (0, 10], got -0.1"},
		{budget.Config{Ratio: 10.5}, "budget: Config.Ratio must be in (0, 10], got 10.5"},
		{budget.Config{Ratio: math.NaN()}, "budget: Config.Ratio must be in (0, 10], got NaN"},
		{budget.Config{MinPerSecond: math.Inf(1)}, "budget: Config.MinPerSecond must be at most 1000000000 (negative: none), got +Inf"},
		{budget.Config{MinPerSecond: math.NaN()}, "budget: Config.MinPerSecond must be at most 1000000000 (negative: none), got NaN"},
		{budget.Config{MinPerSecond: 1e18}, "budget: Config.MinPerSecond must be at most 1000000000 (negative: none), got 1e+18"},
		{budget.Config{Window: -time.Second}, "budget: Config.Window must be 0 or in [1s, 1m0s], got -1s"},
		{budget.Config{Window: 500 * time.Millisecond}, "budget: Config.Window must be 0 or in [1s, 1m0s], got 500ms"},
		{budget.Config{Window: 2 * time.Minute}, "budget: Config.Window must be 0 or in [1s, 1m0s], got 2m0s"},
		{budget.Config{Window: 10}, "budget: Config.Window must be 0 or in [1s, 1m0s], got 10ns"},
	} {
		b, err := budget.New(tc.cfg)
		assert.Nil(t, b)
		assert.EqualError(t, err, tc.want)
		assert.PanicsWithError(t, tc.want, func() { budget.MustNew(tc.cfg) })
	}
	b, err := budget.New(budget.Config{Name: "payments", Ratio: 10, MinPerSecond: -1, Window: time.Minute})
	require.NoError(t, err)
	assert.Equal(t, "payments", b.Name())
}

// withdrawAll withdraws until refused and returns how many were granted.
func withdrawAll(b *budget.Budget) int {
	n := 0
	for b.TryWithdraw() {
		n++
	}
	return n
}

// The zero Config is Finagle's budget: the reserve (10/s over 10 s) is
// there from the start, so a new budget can grant a retry at once.
func TestDefaultsGrantTheReserveAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget.MustNew(budget.Config{})
		assert.Equal(t, 100, b.Stats().Available)
		assert.Equal(t, 100, withdrawAll(b))
		st := b.Stats()
		assert.Equal(t, uint64(100), st.Withdrawn)
		assert.Equal(t, uint64(1), st.Refused, "a refusal leaves no debt")
		assert.Zero(t, st.Available)
	})
}

func TestRatioOfDeposits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget.MustNew(budget.Config{Ratio: 0.5, MinPerSecond: -1})
		assert.False(t, b.TryWithdraw(), "no deposit, no reserve: nothing")
		for range 10 {
			b.Deposit()
		}
		assert.Equal(t, 5, withdrawAll(b))
		for range 3 {
			b.Deposit()
		}
		assert.Equal(t, 1, withdrawAll(b), "6.5 earned, 5 spent: one more")
		assert.Equal(t, uint64(13), b.Stats().Deposits)
	})
}

// A deposit can be spent until it is Window old, and not after; a
// withdrawal counts against the budget for a Window too (and one bucket
// more, so that every span of one Window is covered).
func TestDepositsAndWithdrawalsExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget.MustNew(budget.Config{Ratio: 1, MinPerSecond: -1, Window: 10 * time.Second})
		deposit := func(n int) {
			for range n {
				b.Deposit()
			}
		}
		deposit(10)
		assert.Equal(t, 10, withdrawAll(b), "t=0")
		<-time.After(5 * time.Second)
		deposit(4)
		assert.Equal(t, 4, withdrawAll(b), "t=5s: 14 earned, 10 spent")
		<-time.After(5500 * time.Millisecond)
		assert.Zero(t, withdrawAll(b), "t=10.5s: the first 10 deposits expired, their withdrawals not yet")
		<-time.After(time.Second)
		assert.Zero(t, withdrawAll(b), "t=11.5s: 4 earned in the window, 4 spent in it")
		deposit(2)
		assert.Equal(t, 2, withdrawAll(b), "t=11.5s: 2 more earned")
		<-time.After(10 * time.Second)
		assert.Zero(t, withdrawAll(b), "t=21.5s: every deposit expired")
		st := b.Stats()
		assert.Equal(t, uint64(16), st.Deposits)
		assert.Equal(t, uint64(16), st.Withdrawn)
	})
}

// The bound, under a random schedule of deposits and withdrawals over two
// minutes of fake time: over every span of one Window ending at a grant,
// the grants never exceed Ratio × the deposits of that span and the Window
// before it, plus MinPerSecond × Window.
func TestBoundHoldsOverEveryWindow(t *testing.T) {
	for seed := range uint64(3) {
		synctest.Test(t, func(t *testing.T) {
			const ratio, minPerSecond, window = 0.2, 2.0, 10 * time.Second
			b := budget.MustNew(budget.Config{Ratio: ratio, MinPerSecond: minPerSecond, Window: window})
			rng := rand.New(rand.NewPCG(seed, seed))
			start := time.Now()
			var deposits, grants []time.Duration
			for time.Since(start) < 2*time.Minute {
				// Bursts of traffic and quiet spells, and retries now and then.
				rate := []int{0, 5, 20, 100}[rng.IntN(4)]
				for range rate {
					b.Deposit()
					deposits = append(deposits, time.Since(start))
				}
				for range rng.IntN(40) {
					if b.TryWithdraw() {
						grants = append(grants, time.Since(start))
					}
				}
				<-time.After(time.Duration(50+rng.IntN(500)) * time.Millisecond)
			}
			count := func(ts []time.Duration, from, to time.Duration) int {
				n := 0
				for _, t := range ts {
					if t > from && t <= to {
						n++
					}
				}
				return n
			}
			worst := 0.0
			for _, g := range grants {
				allowed := ratio*float64(count(deposits, g-2*window, g)) + minPerSecond*window.Seconds()
				used := float64(count(grants, g-window, g))
				require.LessOrEqual(t, used, allowed, "at %v", g)
				worst = max(worst, used/allowed)
			}
			t.Logf("seed %d: %d deposits, %d grants; the fullest window used %.0f%% of the bound", seed, len(deposits), len(grants), 100*worst)
		})
	}
}

// Many goroutines at once: nothing is lost, and never more is granted
// than the budget holds, give or take one per goroutine racing.
func TestHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget.MustNew(budget.Config{Ratio: 0.1, MinPerSecond: -1})
		const goroutines, each = 8, 2000
		var granted, asked atomic.Int64
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for i := range each {
					b.Deposit()
					if i%5 == 0 {
						asked.Add(1)
						if b.TryWithdraw() {
							granted.Add(1)
						}
					}
				}
			})
		}
		wg.Wait()
		st := b.Stats()
		assert.Equal(t, uint64(goroutines*each), st.Deposits)
		assert.Equal(t, uint64(granted.Load()), st.Withdrawn)
		assert.Equal(t, uint64(asked.Load()), st.Withdrawn+st.Refused)
		assert.LessOrEqual(t, granted.Load(), int64(0.1*goroutines*each)+goroutines)
	})
}

// The zero Budget is New(Config{})'s: it grants from its reserve (10/s
// over 10 s) and counts, like a budget made with New; a nil one grants
// nothing.
func TestZeroBudgetIsTheDefaultOne(t *testing.T) {
	var b budget.Budget
	b.Deposit()
	assert.True(t, b.TryWithdraw())
	assert.Equal(t, budget.Stats{Deposits: 1, Withdrawn: 1, Available: 99}, b.Stats())

	var none *budget.Budget
	none.Deposit()
	assert.False(t, none.TryWithdraw())
	assert.Equal(t, budget.Stats{}, none.Stats())
}

// The largest MinPerSecond grants what it says over a Window, without
// overflowing.
func TestTheLargestReserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget.MustNew(budget.Config{MinPerSecond: budget.MaxMinPerSecond, Window: budget.MaxWindow})
		assert.Equal(t, budget.MaxMinPerSecond*60, b.Stats().Available)
		assert.True(t, b.TryWithdraw())
	})
}
