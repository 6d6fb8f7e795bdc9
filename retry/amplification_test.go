package retry_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// amplify sends rate requests a second for d through p to a dependency
// that fails a share of its calls (each takes 10 ms), every request with a
// total deadline of 2 s, and returns how many requests were sent and how
// many attempts reached the dependency.
func amplify(p watertight.Policy, failShare float64, rate int, d time.Duration) (requests, attempts int64) {
	var n atomic.Int64
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	dependency := func(ctx context.Context) error {
		n.Add(1)
		mu.Lock()
		fail := rng.Float64() < failShare
		mu.Unlock()
		<-time.After(10 * time.Millisecond)
		if fail {
			return errDown
		}
		return nil
	}
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for start := time.Now(); time.Since(start) < d; <-tick.C {
		requests++
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = p.Do(ctx, dependency)
		})
	}
	wg.Wait()
	return requests, n.Load()
}

// plainLoop is what a service bolts on without a budget: three attempts,
// the same backoff as ours.
type plainLoop struct{}

func (plainLoop) Do(ctx context.Context, fn func(context.Context) error) error {
	var err error
	for i := range 3 {
		if err = fn(ctx); err == nil {
			return nil
		}
		<-time.After(time.Duration(rand.Int64N(int64(50*time.Millisecond) << i)))
	}
	return err
}

// Retry amplification, measured over 60 simulated seconds: a dependency
// failing every call (and 30% of them) behind Chain(retry, attempt
// timeout) with default settings gets at most (1 + Ratio) × requests +
// MinPerSecond × 60 attempts; behind a plain loop of 3 attempts, 3× (and
// 1.39×).
func TestRetryAmplification(t *testing.T) {
	const rate, d = 100, 60 * time.Second
	const ratio, minPerSecond = 0.2, 10.0 // budget's defaults
	for _, failShare := range []float64{1, 0.3} {
		synctest.Test(t, func(t *testing.T) {
			r := retry.MustNew(retry.Config{Name: "dep"})
			attempt := timeout.MustNew(timeout.Config{Name: "attempt", Duration: 500 * time.Millisecond})
			requests, attempts := amplify(watertight.Chain(r, attempt), failShare, rate, d)
			bound := (1+ratio)*float64(requests) + minPerSecond*d.Seconds()
			assert.LessOrEqual(t, float64(attempts), bound)

			plainRequests, plainAttempts := amplify(watertight.Chain(plainLoop{}, attempt), failShare, rate, d)
			st := r.Stats()
			t.Logf("dependency failing %.0f%% for %v at %d requests/s:", 100*failShare, d, rate)
			t.Logf("  retry with a budget: %d requests, %d attempts (%.2f×; bound %.0f, %.2f×); recovered %d, gave up on the budget %d",
				requests, attempts, float64(attempts)/float64(requests), bound, bound/float64(requests), st.Recovered, st.GaveUp.Budget)
			t.Logf("  plain loop of 3:     %d requests, %d attempts (%.2f×)",
				plainRequests, plainAttempts, float64(plainAttempts)/float64(plainRequests))
			if failShare == 1 {
				assert.Equal(t, 3*plainRequests, plainAttempts)
			}
		})
	}
}
