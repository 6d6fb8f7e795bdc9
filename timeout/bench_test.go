package timeout_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/timeout"
)

var errFloorCause = errors.New("floor: deadline exceeded")

func fast(context.Context) error { return nil }

// serialAndParallel benchmarks op from one goroutine, then from
// GOMAXPROCS goroutines at once.

// Cooperative Do beside its floor: a bare context.WithTimeoutCause, the
// call, and cancel.
func BenchmarkCooperative(b *testing.B) {
	ctx := context.Background()
	to := timeout.MustNew(timeout.Config{Duration: time.Second})
	benchtest.SerialAndParallel(b, "timeout", func() { _ = to.Do(ctx, fast) })
	benchtest.SerialAndParallel(b, "floor=WithTimeoutCause", func() {
		tctx, cancel := context.WithTimeoutCause(ctx, time.Second, errFloorCause)
		_ = fast(tctx)
		cancel()
	})
}

// Abandon Do beside its floor: WithTimeout, a goroutine, and a select.
func BenchmarkAbandon(b *testing.B) {
	ctx := context.Background()
	to := timeout.MustNew(timeout.Config{Duration: time.Second, Abandon: true})
	benchtest.SerialAndParallel(b, "timeout", func() { _ = to.Do(ctx, fast) })
	benchtest.SerialAndParallel(b, "floor=goroutine+select", func() {
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- fast(tctx) }()
		select {
		case <-done:
		case <-tctx.Done():
		}
	})
}

// The package-level Do beside the same floor.
func BenchmarkPackageDo(b *testing.B) {
	ctx := context.Background()
	benchtest.SerialAndParallel(b, "timeout.Do", func() { _ = timeout.Do(ctx, time.Second, fast) })
}
