package benchmarks_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/alitto/pond/v2"
	"github.com/panjf2000/ants/v2"
	"golang.org/x/sync/errgroup"

	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
)

// Fire-and-forget submission of a trivial task to 64 workers: each op is a
// batch of 1e5 tasks from one goroutine, and ns/task is the time from the
// first Submit to the last task's end, divided by the tasks. Every pool
// recovers panics and blocks the submitter when it is full; watertight's
// also records every task's queue wait and run time.
const (
	poolWorkers = 64
	poolQueue   = 1024
	batch       = 100_000
)

type submitter struct {
	name  string
	start func(wg *sync.WaitGroup) (submit func(), stop func())
}

var submitters = []submitter{
	{"watertight", func(wg *sync.WaitGroup) (func(), func()) {
		p := pool.MustNew(pool.Config{Workers: poolWorkers, QueueSize: poolQueue})
		ctx := context.Background()
		task := func(context.Context) { wg.Done() }
		return func() { _ = p.Submit(ctx, task) }, func() { _ = p.Close(ctx) }
	}},
	{"pond", func(wg *sync.WaitGroup) (func(), func()) {
		p := pond.NewPool(poolWorkers, pond.WithQueueSize(poolQueue))
		task := wg.Done
		return func() { _ = p.Go(task) }, p.StopAndWait
	}},
	{"ants", func(wg *sync.WaitGroup) (func(), func()) {
		p, err := ants.NewPool(poolWorkers)
		if err != nil {
			panic(err)
		}
		task := wg.Done
		return func() { _ = p.Submit(task) }, p.Release
	}},
	{"errgroup-SetLimit", func(wg *sync.WaitGroup) (func(), func()) {
		var g errgroup.Group
		g.SetLimit(poolWorkers)
		task := func() error { wg.Done(); return nil }
		return func() { g.Go(task) }, func() { _ = g.Wait() }
	}},
	{"goroutines+WaitGroup", func(wg *sync.WaitGroup) (func(), func()) {
		task := wg.Done
		return func() { go task() }, func() {}
	}},
	{"floor=chan-of-func", func(wg *sync.WaitGroup) (func(), func()) {
		tasks := make(chan func(), poolQueue)
		var workers sync.WaitGroup
		for range poolWorkers {
			workers.Go(func() {
				for t := range tasks {
					t()
				}
			})
		}
		task := wg.Done
		return func() { tasks <- task }, func() { close(tasks); workers.Wait() }
	}},
	{"floor+measurements", func(wg *sync.WaitGroup) (func(), func()) {
		// The floor plus only what the pool is asked to measure per task:
		// two clock reads and two histogram observations, on a channel.
		// Compare it with the channel floor above and with watertight.
		type timed struct {
			fn  func()
			enq time.Time
		}
		tasks := make(chan timed, poolQueue)
		var wait, run poolwait.Recorder
		var workers sync.WaitGroup
		for range poolWorkers {
			workers.Go(func() {
				for t := range tasks {
					start := time.Now()
					wait.Observe(start.Sub(t.enq))
					t.fn()
					run.Observe(time.Since(start))
				}
			})
		}
		task := wg.Done
		return func() { tasks <- timed{task, time.Now()} }, func() { close(tasks); workers.Wait() }
	}},
}

func BenchmarkPoolSubmit1e5(b *testing.B) {
	for _, s := range submitters {
		b.Run(s.name, func(b *testing.B) {
			var wg sync.WaitGroup
			submit, stop := s.start(&wg)
			defer stop()
			b.ReportAllocs()
			m0 := mallocs()
			for b.Loop() {
				wg.Add(batch)
				for range batch {
					submit()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/task")
			b.ReportMetric(float64(mallocs()-m0)/float64(b.N*batch), "allocs/task")
		})
	}
}

// The same from GOMAXPROCS submitting goroutines: each op is a chunk of
// 1000 tasks, and ns/task divides by the tasks.
func BenchmarkPoolSubmitParallel(b *testing.B) {
	const chunk = 1000
	for _, s := range submitters {
		b.Run(s.name, func(b *testing.B) {
			var wg sync.WaitGroup
			submit, stop := s.start(&wg)
			defer stop()
			b.ReportAllocs()
			m0 := mallocs()
			wg.Add(b.N * chunk)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					for range chunk {
						submit()
					}
				}
			})
			wg.Wait()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*chunk), "ns/task")
			b.ReportMetric(float64(mallocs()-m0)/float64(b.N*chunk), "allocs/task")
		})
	}
}

func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// Do round trips: run a trivial call on a worker and wait for it.
func BenchmarkPoolDo(b *testing.B) {
	p := pool.MustNew(pool.Config{Workers: poolWorkers, QueueSize: poolQueue})
	defer p.Close(context.Background())
	benchtest.SerialAndParallel(b, "watertight", p, func(p *pool.Pool) { _ = p.Do(context.Background(), nop) })

	pp := pond.NewPool(poolWorkers, pond.WithQueueSize(poolQueue))
	defer pp.StopAndWait()
	benchtest.SerialAndParallel(b, "pond", pp, func(pp pond.Pool) { _ = pp.SubmitErr(nopE).Wait() })

	ap, err := ants.NewPool(poolWorkers)
	if err != nil {
		b.Fatal(err)
	}
	defer ap.Release()
	benchtest.SerialAndParallel(b, "ants", ap, func(ap *ants.Pool) {
		done := make(chan error, 1)
		_ = ap.Submit(func() { done <- nop(context.Background()) })
		<-done
	})
	benchtest.SerialAndParallel(b, "goroutine+chan", struct{}{}, func(struct{}) {
		done := make(chan error, 1)
		go func() { done <- nop(context.Background()) }()
		<-done
	})
}
