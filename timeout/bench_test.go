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

// do is the op of the timeout's benchmarks: a fast call through to.
func do(to *timeout.Timeout) { _ = to.Do(context.Background(), fast) }

// Cooperative Do beside its floor: a bare context.WithTimeoutCause, the
// call, and cancel.
func BenchmarkCooperative(b *testing.B) {
	to := timeout.MustNew(timeout.Config{Duration: time.Second})
	benchtest.SerialAndParallel(b, "timeout", to, do)
	benchtest.SerialAndParallel(b, "floor=WithTimeoutCause", struct{}{}, func(struct{}) {
		tctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, errFloorCause)
		_ = fast(tctx)
		cancel()
	})
}

// Abandon Do beside its floor: WithTimeout, a goroutine, and a select.
func BenchmarkAbandon(b *testing.B) {
	to := timeout.MustNew(timeout.Config{Duration: time.Second, Abandon: true})
	benchtest.SerialAndParallel(b, "timeout", to, do)
	benchtest.SerialAndParallel(b, "floor=goroutine+select", struct{}{}, func(struct{}) {
		tctx, cancel := context.WithTimeout(context.Background(), time.Second)
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
	benchtest.SerialAndParallel(b, "timeout.Do", struct{}{}, func(struct{}) {
		_ = timeout.Do(context.Background(), time.Second, fast)
	})
}
