package hedge_test

import (
	"context"
	"testing"
	"time"

	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/internal/benchtest"
)

func ok(context.Context) error { return nil }

// Do when the call returns before the delay, beside its floor: what any
// hedge must do to be able to hedge — a ctx it can cancel, a timer armed
// and stopped.
func BenchmarkDoBeforeTheDelay(b *testing.B) {
	fixed := hedge.MustNew(hedge.Config{Delay: time.Second})
	benchtest.SerialAndParallel(b, "fixed-delay", fixed, func(h *hedge.Hedge) { _ = h.Do(context.Background(), ok) })
	adaptive := hedge.MustNew(hedge.Config{})
	for range 2 * hedge.Warmup {
		_ = adaptive.Do(context.Background(), ok)
	}
	benchtest.SerialAndParallel(b, "adaptive-delay", adaptive, func(h *hedge.Hedge) { _ = h.Do(context.Background(), ok) })
	benchtest.SerialAndParallel(b, "floor=WithCancel+AfterFunc+Stop", struct{}{}, func(struct{}) {
		ctx, cancel := context.WithCancel(context.Background())
		t := time.AfterFunc(time.Second, func() {})
		_ = ok(ctx)
		t.Stop()
		cancel()
	})
}
