package benchmarks_test

import (
	"context"
	"testing"
	"time"

	eapache "github.com/eapache/go-resiliency/semaphore"
	"github.com/failsafe-go/failsafe-go"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	"golang.org/x/sync/semaphore"

	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/internal/benchtest"
)

// bulkheads returns each library's bulkhead of limit calls as a Do.
func bulkheads(limit int) []struct {
	name string
	do   func(context.Context, func(context.Context) error) error
} {
	wt := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: limit, MaxQueue: 1 << 16})
	ch := make(chan struct{}, limit)
	xs := semaphore.NewWeighted(int64(limit))
	fs := fsbulkhead.NewBuilder[any](uint(limit)).WithMaxWaitTime(time.Hour).Build()
	fsExec := failsafe.With[any](fs)
	ea := eapache.New(limit, time.Hour)
	return []struct {
		name string
		do   func(context.Context, func(context.Context) error) error
	}{
		{"watertight", wt.Do},
		{"chan-semaphore", func(ctx context.Context, fn func(context.Context) error) error {
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			defer func() { <-ch }()
			return fn(ctx)
		}},
		{"x-sync-semaphore", func(ctx context.Context, fn func(context.Context) error) error {
			if err := xs.Acquire(ctx, 1); err != nil {
				return err
			}
			defer xs.Release(1)
			return fn(ctx)
		}},
		{"failsafe-go-permit", func(ctx context.Context, fn func(context.Context) error) error {
			if err := fs.AcquirePermit(ctx); err != nil {
				return err
			}
			defer fs.ReleasePermit()
			return fn(ctx)
		}},
		{"failsafe-go-executor", func(ctx context.Context, fn func(context.Context) error) error {
			return fsExec.Run(func() error { return fn(ctx) })
		}},
		{"eapache", func(ctx context.Context, fn func(context.Context) error) error {
			if err := ea.Acquire(); err != nil {
				return err
			}
			defer ea.Release()
			return fn(ctx)
		}},
	}
}

// A free slot every time.
func BenchmarkBulkheadUncontended(b *testing.B) {
	for _, c := range bulkheads(64) {
		benchtest.SerialAndParallel(b, c.name, c.do, func(do func(context.Context, func(context.Context) error) error) {
			_ = do(context.Background(), nop)
		})
	}
}

// Two slots, 32 callers: most calls wait for a slot.
func BenchmarkBulkheadContended(b *testing.B) {
	ctx := context.Background()
	for _, c := range bulkheads(2) {
		contended(b, c.name, func() { _ = c.do(ctx, yield) })
	}
}
