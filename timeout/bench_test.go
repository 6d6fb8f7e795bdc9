package timeout_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/watertight-go/watertight/timeout"
)

var errFloorCause = errors.New("floor: deadline exceeded")

func fast(context.Context) error { return nil }

// Cooperative Do beside its floor: a bare context.WithTimeoutCause, the
// call, and cancel.
func BenchmarkCooperative(b *testing.B) {
	ctx := context.Background()
	b.Run("timeout", func(b *testing.B) {
		to := timeout.MustNew(timeout.Config{Duration: time.Second})
		b.ReportAllocs()
		for b.Loop() {
			_ = to.Do(ctx, fast)
		}
	})
	b.Run("floor=WithTimeoutCause", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tctx, cancel := context.WithTimeoutCause(ctx, time.Second, errFloorCause)
			_ = fast(tctx)
			cancel()
		}
	})
	b.Run("timeout/parallel", func(b *testing.B) {
		to := timeout.MustNew(timeout.Config{Duration: time.Second})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = to.Do(ctx, fast)
			}
		})
	})
	b.Run("floor=WithTimeoutCause/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				tctx, cancel := context.WithTimeoutCause(ctx, time.Second, errFloorCause)
				_ = fast(tctx)
				cancel()
			}
		})
	})
}

// Abandon Do beside its floor: WithTimeout, a goroutine, and a select.
func BenchmarkAbandon(b *testing.B) {
	ctx := context.Background()
	floor := func() error {
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- fast(tctx) }()
		select {
		case err := <-done:
			return err
		case <-tctx.Done():
			return tctx.Err()
		}
	}
	b.Run("timeout", func(b *testing.B) {
		to := timeout.MustNew(timeout.Config{Duration: time.Second, Abandon: true})
		b.ReportAllocs()
		for b.Loop() {
			_ = to.Do(ctx, fast)
		}
	})
	b.Run("floor=goroutine+select", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = floor()
		}
	})
	b.Run("timeout/parallel", func(b *testing.B) {
		to := timeout.MustNew(timeout.Config{Duration: time.Second, Abandon: true})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = to.Do(ctx, fast)
			}
		})
	})
	b.Run("floor=goroutine+select/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = floor()
			}
		})
	})
}
