// Package slowload measures what users care about most: how a healthy
// dependency fares next to one that hangs, through each library's
// bulkhead and timeout.
//
// Two dependencies share a bounded resource, like a service's database or
// connection pool: every call holds one of 20 slots for as long as it
// runs. One dependency answers in a millisecond; the other hangs until it
// is cancelled. Requests arrive at a fixed rate, half to each, each with a
// one-second client deadline. Every library gets a bulkhead of 8 per
// dependency and a 50 ms timeout, and the calls honour the cancellation
// each library gives them (a ctx, or eapache's stopper channel).
package slowload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	eapachedeadline "github.com/eapache/go-resiliency/deadline"
	eapachesem "github.com/eapache/go-resiliency/semaphore"
	"github.com/failsafe-go/failsafe-go"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"
	"golang.org/x/sync/semaphore"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/timeout"
)

// Scenario parameters.
type Config struct {
	Rate     int           // requests per second, both dependencies together
	Duration time.Duration // how long the load runs
}

const (
	sharedSlots    = 20
	perDependency  = 8
	callTimeout    = 50 * time.Millisecond
	clientDeadline = time.Second
	healthyLatency = time.Millisecond
)

// Result is the healthy dependency's outcome through one library.
type Result struct {
	Library     string
	Requests    int
	SuccessRate float64
	P50, P99    time.Duration
}

// guarded runs call for dependency dep ("healthy" or "hanging") with the
// library's protection; call must stop when its ctx or stop channel ends.
type guarded func(ctx context.Context, dep string, call func(ctx context.Context, stop <-chan struct{}) error) error

type library struct {
	name string
	make func() guarded
}

var libraries = []library{
	{"watertight", func() guarded {
		policies := map[string]watertight.Policy{}
		for _, dep := range []string{"healthy", "hanging"} {
			policies[dep] = watertight.Chain(
				bulkhead.MustNew(bulkhead.Config{Name: dep, MaxConcurrent: perDependency}),
				timeout.MustNew(timeout.Config{Name: dep, Duration: callTimeout}),
			)
		}
		return func(ctx context.Context, dep string, call func(context.Context, <-chan struct{}) error) error {
			return policies[dep].Do(ctx, func(ctx context.Context) error { return call(ctx, ctx.Done()) })
		}
	}},
	{"failsafe-go", func() guarded {
		execs := map[string]failsafe.Executor[any]{}
		for _, dep := range []string{"healthy", "hanging"} {
			execs[dep] = failsafe.With[any](
				fsbulkhead.NewBuilder[any](perDependency).WithMaxWaitTime(clientDeadline).Build(),
				fstimeout.New[any](callTimeout),
			)
		}
		return func(ctx context.Context, dep string, call func(context.Context, <-chan struct{}) error) error {
			return execs[dep].WithContext(ctx).RunWithExecution(func(e failsafe.Execution[any]) error {
				return call(e.Context(), e.Context().Done())
			})
		}
	}},
	{"eapache", func() guarded {
		sems := map[string]*eapachesem.Semaphore{}
		for _, dep := range []string{"healthy", "hanging"} {
			sems[dep] = eapachesem.New(perDependency, clientDeadline)
		}
		dl := eapachedeadline.New(callTimeout)
		return func(ctx context.Context, dep string, call func(context.Context, <-chan struct{}) error) error {
			if err := sems[dep].Acquire(); err != nil {
				return err
			}
			defer sems[dep].Release()
			return dl.Run(func(stop <-chan struct{}) error { return call(ctx, stop) })
		}
	}},
	{"hand-made (x/sync semaphore + context.WithTimeout)", func() guarded {
		sems := map[string]*semaphore.Weighted{"healthy": semaphore.NewWeighted(perDependency), "hanging": semaphore.NewWeighted(perDependency)}
		return func(ctx context.Context, dep string, call func(context.Context, <-chan struct{}) error) error {
			if err := sems[dep].Acquire(ctx, 1); err != nil {
				return err
			}
			defer sems[dep].Release(1)
			ctx, cancel := context.WithTimeout(ctx, callTimeout)
			defer cancel()
			return call(ctx, ctx.Done())
		}
	}},
	{"none", func() guarded {
		return func(ctx context.Context, _ string, call func(context.Context, <-chan struct{}) error) error {
			return call(ctx, ctx.Done())
		}
	}},
}

// Run runs the scenario through every library, one after another, and
// writes a progress line per library to progress (if not nil).
func Run(cfg Config, progress io.Writer) []Result {
	var out []Result
	for _, lib := range libraries {
		r := runOne(cfg, lib)
		if progress != nil {
			fmt.Fprintf(progress, "slowload: %-50s healthy p99 %v, success %.1f%%\n", lib.name, r.P99, 100*r.SuccessRate)
		}
		out = append(out, r)
	}
	return out
}

func runOne(cfg Config, lib library) Result {
	shared := semaphore.NewWeighted(sharedSlots)
	guard := lib.make()
	call := func(dep string) func(context.Context, <-chan struct{}) error {
		return func(ctx context.Context, stop <-chan struct{}) error {
			if err := shared.Acquire(ctx, 1); err != nil {
				return err
			}
			defer shared.Release(1)
			wait := healthyLatency
			if dep == "hanging" {
				wait = time.Hour
			}
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-stop:
				return errors.New("stopped")
			}
		}
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		ok        int
		wg        sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / time.Duration(cfg.Rate))
	defer tick.Stop()
	start := time.Now()
	for i := 0; time.Since(start) < cfg.Duration; i++ {
		<-tick.C
		dep := "healthy"
		if i%2 == 1 {
			dep = "hanging"
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), clientDeadline)
			defer cancel()
			t0 := time.Now()
			err := guard(ctx, dep, call(dep))
			took := time.Since(t0)
			if dep != "healthy" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			latencies = append(latencies, took)
			if err == nil {
				ok++
			}
		})
	}
	wg.Wait()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	r := Result{Library: lib.name, Requests: len(latencies)}
	if n := len(latencies); n > 0 {
		r.SuccessRate = float64(ok) / float64(n)
		r.P50 = latencies[(n-1)/2]
		r.P99 = latencies[min(n-1, (n*99+99)/100-1)]
	}
	return r
}
