package benchmarks_test

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"

	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/internal/benchtest"
)

// A call that returns before the hedge's one-second delay, under each
// library's hedge, beside the floor any hedge pays: a ctx it can cancel, a
// timer armed and stopped.
func BenchmarkHedgeBeforeTheDelay(b *testing.B) {
	benchtest.SerialAndParallel(b, "watertight", hedge.MustNew(hedge.Config{Delay: time.Second}), func(h *hedge.Hedge) {
		_ = h.Do(context.Background(), nop)
	})
	benchtest.SerialAndParallel(b, "failsafe-go", failsafe.With[any](hedgepolicy.NewWithDelay[any](time.Second)), runFailsafe)
	benchtest.SerialAndParallel(b, "floor=WithCancel+AfterFunc+Stop", struct{}{}, func(struct{}) {
		ctx, cancel := context.WithCancel(context.Background())
		t := time.AfterFunc(time.Second, func() {})
		_ = nop(ctx)
		t.Stop()
		cancel()
	})
}
