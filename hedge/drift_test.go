package hedge_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/watertight-go/watertight/hedge"
)

// latency draws an attempt's duration from a fixed distribution, healthy
// on average and slow at the tail: 90% in [5, 15] ms, 10% in [100, 300]
// ms. Its p95 is 200 ms, its p99 280 ms.
type latency struct {
	mu  sync.Mutex
	rng *rand.Rand
}

const trueP95 = 200 * time.Millisecond

func newLatency(seed uint64) *latency { return &latency{rng: rand.New(rand.NewPCG(seed, 42))} }

func (l *latency) draw() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rng.IntN(10) == 0 {
		return 100*time.Millisecond + time.Duration(l.rng.Int64N(int64(200*time.Millisecond)))
	}
	return 5*time.Millisecond + time.Duration(l.rng.Int64N(int64(10*time.Millisecond)))
}

func p99(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// The adaptive delay does not drift: over 10,000 calls to a dependency of
// fixed latency, with hedging on, the learned delay stays within 20% of
// the true p95 and the hedges within 2× of 5% of the calls. And the tail,
// measured: the p99 of Do against the same calls without a hedge.
func TestAdaptiveDelayDoesNotDrift(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const calls = 10_000
		h := hedge.MustNew(hedge.Config{Name: "dep"})
		dep := newLatency(1)
		var took, plain []time.Duration
		var delays []time.Duration
		for i := range calls {
			start := time.Now()
			_ = h.Do(t.Context(), func(ctx context.Context) error { return work(ctx, dep.draw()) })
			took = append(took, time.Since(start))
			if i >= hedge.Warmup && i%100 == 0 {
				delays = append(delays, h.Stats().Delay)
			}
		}
		for range calls {
			plain = append(plain, dep.draw())
		}
		synctest.Wait() // the last losers return
		st := h.Stats()
		hedged := float64(st.Hedges) / calls
		lo, hi := slices.Min(delays), slices.Max(delays)
		t.Logf("adaptive p95 delay over %d calls: from %v to %v (true p95 %v), last %v", calls, lo, hi, trueP95, st.Delay)
		t.Logf("hedges: %d (%.1f%% of calls, extra load %.1f%%), won by a hedge: %d", st.Hedges, 100*hedged, 100*hedged, st.HedgeWins)
		t.Logf("p99 of Do: %v hedged, %v without a hedge", p99(took), p99(plain))
		assert.InEpsilon(t, float64(trueP95), float64(lo), 0.2)
		assert.InEpsilon(t, float64(trueP95), float64(hi), 0.2)
		assert.InDelta(t, 0.05, hedged, 0.05, "within 2× of 5%")
		assert.GreaterOrEqual(t, hedged, 0.025)
		assert.Less(t, p99(took), p99(plain))
		assert.Zero(t, st.Running)
	})
}

// The same dependency, hedged by an estimator fed only by the winners, as
// failsafe-go's is (a plain simulation, no Hedge): the slow attempts that
// a hedge cuts short never reach it, so its p95 drifts down, more hedges
// fire, and the load feeds on itself.
func TestWinnersOnlyEstimatorDrifts(t *testing.T) {
	const calls = 10_000
	dep := newLatency(1)
	var winners []time.Duration // the last 1000 winners' durations
	delay := time.Duration(0)
	hedges := 0
	var trajectory []time.Duration
	for i := range calls {
		first := dep.draw()
		winner := first
		if delay > 0 && first > delay {
			hedges++
			if second := dep.draw(); delay+second < first {
				winner = second // the hedge won: the slow first attempt is never seen
			}
		}
		winners = append(winners, winner)
		if len(winners) > 1000 {
			winners = winners[1:]
		}
		if i >= hedge.Warmup && i%64 == 0 {
			s := slices.Clone(winners)
			slices.Sort(s)
			delay = s[len(s)*95/100]
		}
		if i%2000 == 0 {
			trajectory = append(trajectory, delay)
		}
	}
	t.Logf("winners-only p95 delay every 2000 calls: %v (true p95 %v); hedges: %d (%.1f%% of calls)", trajectory, trueP95, hedges, 100*float64(hedges)/calls)
	assert.Less(t, float64(delay), 0.5*float64(trueP95), "it drifts far below the true p95")
	assert.Greater(t, float64(hedges)/calls, 0.1, "and hedges more than twice 5% of the calls")
}
