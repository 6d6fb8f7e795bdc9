package bulkhead_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/watertight-go/watertight/bulkhead"
)

// overloadResult is what one run of steady load saw.
type overloadResult struct {
	offered, served, goodput, shed int
	p99Wait                        time.Duration
}

// steadyLoad offers Poisson arrivals at load × what a dependency of 5
// slots at 10 ms serves (500 calls a second), for 30 s, through a bulkhead
// of 5 with queue, each caller with a 1 s deadline, and reports the
// goodput (calls served that finished within their deadline) and the p99
// wait of the calls served.
func steadyLoad(t *testing.T, queue bulkhead.QueueDiscipline, load float64) (r overloadResult) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 5, MaxQueue: 2000, MaxWait: time.Second, Queue: queue})
		rng := rand.New(rand.NewPCG(7, 7))
		var mu sync.Mutex
		var waits []time.Duration
		var wg sync.WaitGroup
		rate := load * 500
		for start := time.Now(); time.Since(start) < 30*time.Second; {
			<-time.After(time.Duration(rng.ExpFloat64() / rate * float64(time.Second)))
			r.offered++
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				arrived := time.Now()
				err := b.Do(ctx, func(ctx context.Context) error {
					mu.Lock()
					waits = append(waits, time.Since(arrived))
					mu.Unlock()
					<-time.After(10 * time.Millisecond)
					return ctx.Err()
				})
				mu.Lock()
				if err == nil {
					r.goodput++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(waits)
		r.served = len(waits)
		r.p99Wait = waits[len(waits)*99/100]
		r.shed = int(b.Stats().Shed)
	})
	return r
}

// Steady overload, measured: 1.5× what the dependency serves. FIFO's
// served calls wait about MaxWait; CoDel's wait a fraction of it, and its
// goodput stays near capacity.
func TestCoDelUnderSteadyOverload(t *testing.T) {
	const capacity = 500 * 30
	fifo := steadyLoad(t, bulkhead.FIFO, 1.5)
	cd := steadyLoad(t, bulkhead.CoDel, 1.5)
	mild := steadyLoad(t, bulkhead.CoDel, 0.8)
	for _, r := range []struct {
		name string
		r    overloadResult
	}{{"FIFO 1.5×", fifo}, {"CoDel 1.5×", cd}, {"CoDel 0.8×", mild}} {
		t.Logf("%-10s offered %5d, served %5d, goodput %5d (%.0f%% of capacity), shed %5d, p99 wait of the served %v",
			r.name, r.r.offered, r.r.served, r.r.goodput, 100*float64(r.r.goodput)/capacity, r.r.shed, r.r.p99Wait)
	}
	assert.GreaterOrEqual(t, float64(cd.goodput), 0.95*capacity)
	assert.LessOrEqual(t, cd.p99Wait, fifo.p99Wait/10)
}
