package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/retry"
)

func ok(context.Context) error { return nil }

// Do whose first attempt succeeds, beside its floor, the bare call: what a
// Retry costs a healthy dependency.
func BenchmarkDoFirstAttempt(b *testing.B) {
	r := retry.MustNew(retry.Config{})
	benchtest.SerialAndParallel(b, "retry", r, func(r *retry.Retry) { _ = r.Do(context.Background(), ok) })
	benchtest.SerialAndParallel(b, "floor=bare-call", ok, func(fn func(context.Context) error) { _ = fn(context.Background()) })
}

// A call that fails twice and succeeds on its third attempt, with no wait
// (a backoff of 0): the allocations of the retry path itself; and with
// the default BackOff, whose waits are capped at the shortest MaxDelay
// (1 ms): its allocations, with up to 2 ms of waiting in each op.
func BenchmarkDoTwoRetries(b *testing.B) {
	zero := retry.MustNew(retry.Config{Budget: generous(), Backoff: constant(0)})
	withDefault := retry.MustNew(retry.Config{Budget: generous(), MaxDelay: time.Millisecond})
	fail2 := func() func(context.Context) error {
		n := 0
		return func(context.Context) error {
			if n++; n%3 != 0 {
				return errDown
			}
			return nil
		}
	}
	b.Run("constant-backoff-0", func(b *testing.B) {
		fn := fail2()
		b.ReportAllocs()
		for b.Loop() {
			_ = zero.Do(context.Background(), fn)
		}
	})
	b.Run("default-backoff-1ns-wait", func(b *testing.B) {
		fn := fail2()
		b.ReportAllocs()
		for b.Loop() {
			_ = withDefault.Do(context.Background(), fn)
		}
	})
}
