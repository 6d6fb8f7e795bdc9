package pool_test

import (
	"context"
	"sync"
	"testing"

	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/pool"
)

// The floor: the worker pool a Go programmer writes by hand, a channel of
// funcs drained by a fixed set of goroutines, with no contexts, no panic
// handling and no measurements.
type chanPool struct {
	tasks chan func()
	wg    sync.WaitGroup
}

func newChanPool(workers, queue int) *chanPool {
	p := &chanPool{tasks: make(chan func(), queue)}
	for range workers {
		p.wg.Go(func() {
			for t := range p.tasks {
				t()
			}
		})
	}
	return p
}

func (p *chanPool) close() { close(p.tasks); p.wg.Wait() }

const (
	benchWorkers = 64
	benchQueue   = 1024
)

// submitters offers b.N trivial tasks, from one goroutine and then from
// GOMAXPROCS goroutines, and waits for them all to run: ns/op is the cost
// of one task from Submit to its end. submit offers the task that calls
// wg.Done; it is built once, so the benchmark itself allocates nothing.
func submitters(b *testing.B, name string, wg *sync.WaitGroup, submit func(), done func()) {
	defer done()
	for _, parallel := range []bool{false, true} {
		sub := name
		if parallel {
			sub += "/parallel"
		}
		b.Run(sub, func(b *testing.B) {
			b.ReportAllocs()
			wg.Add(b.N)
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						submit()
					}
				})
			} else {
				for range b.N {
					submit()
				}
			}
			wg.Wait()
		})
	}
}

func BenchmarkSubmit(b *testing.B) {
	ctx := context.Background()
	var wg sync.WaitGroup
	p := pool.MustNew(pool.Config{Workers: benchWorkers, QueueSize: benchQueue})
	task := func(context.Context) { wg.Done() }
	submitters(b, "pool", &wg, func() { _ = p.Submit(ctx, task) }, func() { _ = p.Close(ctx) })

	codel := pool.MustNew(pool.Config{Workers: benchWorkers, QueueSize: benchQueue, Queue: pool.CoDel})
	submitters(b, "pool-codel", &wg, func() { _ = codel.Submit(ctx, task) }, func() { _ = codel.Close(ctx) })

	fallible := pool.MustNew(pool.Config{Workers: benchWorkers, QueueSize: benchQueue})
	fallibleTask := func(context.Context) error { wg.Done(); return nil }
	submitters(b, "pool-SubmitErr", &wg, func() { _ = fallible.SubmitErr(ctx, fallibleTask) }, func() { _ = fallible.Close(ctx) })

	floor := newChanPool(benchWorkers, benchQueue)
	floorTask := wg.Done
	submitters(b, "floor=chan-of-func", &wg, func() { floor.tasks <- floorTask }, floor.close)
}

// Do's round trip beside the floor's: a task that signals a channel the
// caller waits on.
func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	p := pool.MustNew(pool.Config{Workers: benchWorkers, QueueSize: benchQueue})
	defer p.Close(ctx)
	benchtest.SerialAndParallel(b, "pool", p, func(p *pool.Pool) { _ = p.Do(context.Background(), nop) })
	codel := pool.MustNew(pool.Config{Workers: benchWorkers, QueueSize: benchQueue, Queue: pool.CoDel})
	defer codel.Close(ctx)
	benchtest.SerialAndParallel(b, "pool-codel", codel, func(p *pool.Pool) { _ = p.Do(context.Background(), nop) })

	floor := newChanPool(benchWorkers, benchQueue)
	defer floor.close()
	benchtest.SerialAndParallel(b, "floor=chan-of-func", floor, func(floor *chanPool) {
		done := make(chan error, 1)
		floor.tasks <- func() { done <- nop(context.Background()) }
		<-done
	})
}

// Go and Wait beside the floor's: a goroutine that sends its result on a
// channel (no bound on goroutines at all).
func BenchmarkGoWait(b *testing.B) {
	ctx := context.Background()
	p := pool.MustNew(pool.Config{Workers: benchWorkers, QueueSize: benchQueue})
	defer p.Close(ctx)
	benchtest.SerialAndParallel(b, "pool", p, func(p *pool.Pool) {
		f, _ := pool.Go(context.Background(), p, answer)
		_, _ = f.Wait(context.Background())
	})
	benchtest.SerialAndParallel(b, "floor=goroutine+chan", struct{}{}, func(struct{}) {
		done := make(chan int, 1)
		go func() { v, _ := answer(context.Background()); done <- v }()
		<-done
	})
}

func BenchmarkStats(b *testing.B) {
	p := pool.MustNew(pool.Config{Workers: benchWorkers, QueueSize: benchQueue})
	defer p.Close(context.Background())
	benchtest.SerialAndParallel(b, "pool", p, func(p *pool.Pool) { _ = p.Stats() })
}

func nop(context.Context) error { return nil }

func answer(context.Context) (int, error) { return 42, nil }
