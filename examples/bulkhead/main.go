// Command bulkhead shows a slow dependency being isolated by a bulkhead.
//
// A service has 10 workers (think: database connections, or a server's
// concurrency limit) shared by two kinds of requests. One kind calls a
// "reports" dependency that has become slow (1s a call); the other calls a
// fast "profile" dependency (5ms). The program runs the same load twice:
// first with nothing but the shared workers, then with a bulkhead around the
// reports calls, and prints what the profile requests saw.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/bulkhead"
)

func main() {
	duration := flag.Duration("duration", 2*time.Second, "how long to send requests")
	slowness := flag.Duration("slowness", time.Second, "how long a call to the slow dependency takes")
	flag.Parse()

	fmt.Printf("10 shared workers; 1 request every 5ms for %v, half to a dependency that takes %v, half to one that takes 5ms.\n\n",
		*duration, *slowness)
	before := run(*duration, *slowness, nil)
	reports := bulkhead.MustNew(bulkhead.Config{Name: "reports", MaxConcurrent: 3})
	after := run(*duration, *slowness, reports)

	fmt.Printf("%-34s %10s %10s %10s %12s\n", "", "fast ok", "fast p50", "fast p99", "slow refused")
	before.print("unprotected")
	after.print("bulkhead reports (max 3 at once)")
	st := reports.Stats()
	fmt.Printf("\nbulkhead %q: %d calls let through, %d refused at once; never more than 3 of the 10 workers held by the slow dependency.\n",
		reports.Name(), st.Acquired, st.Rejected)
	fmt.Printf("fast requests p99: %v unprotected -> %v with the bulkhead\n",
		before.p(0.99).Round(time.Millisecond), after.p(0.99).Round(time.Millisecond))
	if after.p(0.99) >= before.p(0.99) {
		os.Exit(1)
	}
}

type result struct {
	mu          sync.Mutex
	fast        []time.Duration // latency of each fast request that succeeded
	fastFailed  int
	slowRefused int
}

func (r *result) p(q float64) time.Duration {
	if len(r.fast) == 0 {
		return 0
	}
	slices.Sort(r.fast)
	return r.fast[int(q*float64(len(r.fast)-1))]
}

func (r *result) print(name string) {
	total := len(r.fast) + r.fastFailed
	fmt.Printf("%-34s %9.0f%% %10v %10v %12d\n", name, 100*float64(len(r.fast))/float64(total),
		r.p(0.5).Round(time.Millisecond), r.p(0.99).Round(time.Millisecond), r.slowRefused)
}

// run sends the load and returns what it saw. Each request must get one of
// the shared workers within 1s, then calls its dependency; calls to the slow
// one go through guard when there is one.
func run(duration, slowness time.Duration, guard watertight.Policy) *result {
	workers := make(chan struct{}, 10)
	res := &result{}
	var wg sync.WaitGroup
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := 0; time.Duration(i)*5*time.Millisecond < duration; i++ {
		<-tick.C
		slow := i%2 == 0
		wg.Go(func() {
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := withWorker(ctx, workers, func() error {
				if !slow {
					return sleep(ctx, 5*time.Millisecond)
				}
				call := func(ctx context.Context) error { return sleep(ctx, slowness) }
				if guard == nil {
					return call(ctx)
				}
				return guard.Do(ctx, call)
			})
			res.mu.Lock()
			defer res.mu.Unlock()
			switch {
			case !slow && err == nil:
				res.fast = append(res.fast, time.Since(start))
			case !slow:
				res.fastFailed++
			case errors.Is(err, watertight.ErrRejected):
				res.slowRefused++
			}
		})
	}
	wg.Wait()
	return res
}

// withWorker runs fn holding one of the shared workers.
func withWorker(ctx context.Context, workers chan struct{}, fn func() error) error {
	select {
	case workers <- struct{}{}:
		defer func() { <-workers }()
		return fn()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
