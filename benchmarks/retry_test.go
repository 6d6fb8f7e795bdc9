package benchmarks_test

import (
	"context"
	"testing"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"

	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/retry"
)

// A call whose first attempt succeeds, under each library's retry with
// three attempts at most: what a retry costs a healthy dependency, beside
// the bare call.
func BenchmarkRetryFirstAttempt(b *testing.B) {
	benchtest.SerialAndParallel(b, "watertight", retry.MustNew(retry.Config{MaxAttempts: 3}), func(r *retry.Retry) {
		_ = r.Do(context.Background(), nop)
	})
	benchtest.SerialAndParallel(b, "failsafe-go", failsafe.With[any](retrypolicy.NewBuilder[any]().WithMaxAttempts(3).Build()), runFailsafe)
	benchtest.SerialAndParallel(b, "floor=bare-call", nop, func(fn func(context.Context) error) { _ = fn(context.Background()) })
}
