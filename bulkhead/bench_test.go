package bulkhead_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/watertight-go/watertight/adaptive"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/internal/benchtest"
)

// The floors: the two semaphores a Go programmer would write instead.

type chanSem chan struct{}

func (s chanSem) Do(ctx context.Context, fn func(context.Context) error) error {
	select {
	case s <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s }()
	return fn(ctx)
}

type xsyncSem struct{ *semaphore.Weighted }

func (s xsyncSem) Do(ctx context.Context, fn func(context.Context) error) error {
	if err := s.Acquire(ctx, 1); err != nil {
		return err
	}
	defer s.Release(1)
	return fn(ctx)
}

type doer interface {
	Do(context.Context, func(context.Context) error) error
}

func contenders(limit, queue int) []struct {
	name string
	d    doer
} {
	return []struct {
		name string
		d    doer
	}{
		{"bulkhead", bulkhead.MustNew(bulkhead.Config{MaxConcurrent: limit, MaxQueue: queue})},
		{"floor=chan", make(chanSem, limit)},
		{"floor=x-sync-semaphore", xsyncSem{semaphore.NewWeighted(int64(limit))}},
	}
}

func nop(context.Context) error { return nil }

// Uncontended: one goroutine, a free slot every time.
func BenchmarkDoUncontended(b *testing.B) {
	ctx := context.Background()
	for _, c := range contenders(1, 0) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.d.Do(ctx, nop)
			}
		})
	}
}

// Parallel, limit 64: all goroutines get a slot at once, but share the
// counter.
func BenchmarkDoParallel64(b *testing.B) {
	ctx := context.Background()
	for _, c := range contenders(64, 0) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = c.d.Do(ctx, nop)
				}
			})
		})
	}
}

// Contended: limit 4, 16 goroutines, fn yields, so callers queue and every
// release hands the slot to a waiter.
func BenchmarkDoContended(b *testing.B) {
	ctx := context.Background()
	yield := func(context.Context) error { runtime.Gosched(); return nil }
	for _, c := range contenders(4, 64) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16 / runtime.GOMAXPROCS(0))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = c.d.Do(ctx, yield)
				}
			})
			if bh, ok := c.d.(*bulkhead.Bulkhead); ok {
				st := bh.Stats()
				b.ReportMetric(float64(st.Wait.Total.Nanoseconds())/float64(st.Wait.Count), "wait-ns/op")
			}
		})
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	bh := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		release, _ := bh.Acquire(ctx)
		release()
	}
}

func BenchmarkStats(b *testing.B) {
	bh := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	b.ReportAllocs()
	for b.Loop() {
		_ = bh.Stats()
	}
}

// An adaptive bulkhead's uncontended Do beside the static one's, and the
// two clock reads it adds on their own: the rest is the Limit's Observe
// (a mutex and a few sums; a new limit once a window).
func BenchmarkDoAdaptive(b *testing.B) {
	ctx := context.Background()
	static := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1000})
	g, _ := adaptive.Gradient(adaptive.GradientConfig{})
	gradient := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1000, Limit: g})
	a, _ := adaptive.AIMD(adaptive.AIMDConfig{})
	aimd := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1000, Limit: a})
	do := func(bh *bulkhead.Bulkhead) { _ = bh.Do(ctx, nop) }
	benchtest.SerialAndParallel(b, "static", static, do)
	benchtest.SerialAndParallel(b, "gradient", gradient, do)
	benchtest.SerialAndParallel(b, "aimd", aimd, do)
	epoch := time.Now()
	benchtest.SerialAndParallel(b, "floor=two-clock-reads", epoch, func(e time.Time) {
		_ = time.Since(e)
		_ = time.Since(e)
	})
}

// CoDel beside FIFO: uncontended (nobody waits, so CoDel costs nothing)
// and contended (most calls wait: CoDel reads the clock at each hand-off).
func BenchmarkCoDel(b *testing.B) {
	ctx := context.Background()
	for _, q := range []bulkhead.QueueDiscipline{bulkhead.FIFO, bulkhead.CoDel} {
		free := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 64, MaxQueue: 64, Queue: q})
		benchtest.SerialAndParallel(b, "uncontended/"+q.String(), free, func(bh *bulkhead.Bulkhead) { _ = bh.Do(ctx, nop) })
	}
	for _, q := range []bulkhead.QueueDiscipline{bulkhead.FIFO, bulkhead.CoDel} {
		tight := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 2, MaxQueue: 1 << 16, Queue: q})
		b.Run("contended/"+q.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = tight.Do(ctx, func(context.Context) error { runtime.Gosched(); return nil })
				}
			})
		})
	}
}
