package benchmarks_test

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	fscb "github.com/failsafe-go/failsafe-go/circuitbreaker"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/semaphore"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/timeout"
)

// The usual composition for an outbound call: a timeout, then a breaker,
// then a bulkhead, around a fast call.
func BenchmarkChain(b *testing.B) {
	wt := watertight.Chain(
		timeout.MustNew(timeout.Config{Duration: time.Second}),
		breaker.MustNew(breaker.Config{WindowCalls: 100}),
		bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 64}),
	)
	benchtest.SerialAndParallel(b, "watertight", wt, func(wt watertight.Policy) { _ = wt.Do(context.Background(), nop) })

	fs := failsafe.With[any](
		fstimeout.New[any](time.Second),
		fscb.NewBuilder[any]().WithFailureThresholdRatio(50, 100).Build(),
		fsbulkhead.New[any](64),
	)
	benchtest.SerialAndParallel(b, "failsafe-go", fs, runFailsafe)

	// By hand: what a careful Go programmer writes without a library.
	type handMade struct {
		gb  *gobreaker.CircuitBreaker[struct{}]
		sem *semaphore.Weighted
	}
	hm := handMade{gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{}), semaphore.NewWeighted(64)}
	benchtest.SerialAndParallel(b, "hand-made", hm, func(hm handMade) {
		tctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, errCause)
		defer cancel()
		_, _ = hm.gb.Execute(func() (struct{}, error) {
			if err := hm.sem.Acquire(tctx, 1); err != nil {
				return struct{}{}, err
			}
			defer hm.sem.Release(1)
			return struct{}{}, nop(tctx)
		})
	})
}
