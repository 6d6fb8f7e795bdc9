package benchmarks_test

import (
	"context"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	eapache "github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go"
	fscb "github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"

	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/internal/monotime"
)

// Breakers on a call that does nothing: the cost of the breaker itself.
// Each group configures every library as close to the same window as it
// allows.

func doBreaker(br *breaker.Breaker) { _ = br.Do(context.Background(), nop) }

func executeGobreaker(gb *gobreaker.CircuitBreaker[struct{}]) { _, _ = gb.Execute(nopT) }

// Closed, successful calls over a count window of 100 calls. watertight
// reads no clock; gobreaker reads it twice per call, under a mutex.
func BenchmarkBreakerClosedCountWindow(b *testing.B) {
	benchtest.SerialAndParallel(b, "watertight", breaker.MustNew(breaker.Config{WindowCalls: 100}), doBreaker)
	gb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{})
	benchtest.SerialAndParallel(b, "gobreaker", gb, executeGobreaker)
	fs := failsafe.With[any](fscb.NewBuilder[any]().WithFailureThresholdRatio(50, 100).Build())
	benchtest.SerialAndParallel(b, "failsafe-go", fs, runFailsafe)
	ea := eapache.New(50, 1, time.Minute)
	benchtest.SerialAndParallel(b, "eapache", ea, func(ea *eapache.Breaker) { _ = ea.Run(nopE) })
}

// Closed, successful calls over a 10 s time window.
func BenchmarkBreakerClosedTimeWindow(b *testing.B) {
	benchtest.SerialAndParallel(b, "watertight", breaker.MustNew(breaker.Config{Window: 10 * time.Second}), doBreaker)
	gb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Interval: 10 * time.Second, BucketPeriod: time.Second})
	benchtest.SerialAndParallel(b, "gobreaker", gb, executeGobreaker)
	fs := failsafe.With[any](fscb.NewBuilder[any]().WithFailureRateThreshold(0.5, 20, 10*time.Second).Build())
	benchtest.SerialAndParallel(b, "failsafe-go", fs, runFailsafe)
}

// Closed, successful calls, timed against a slow-call threshold (only
// watertight has one; the others get their time window).
func BenchmarkBreakerClosedSlowCalls(b *testing.B) {
	benchtest.SerialAndParallel(b, "watertight", breaker.MustNew(breaker.Config{WindowCalls: 100, SlowCall: time.Second}), doBreaker)
	gb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Interval: 10 * time.Second, BucketPeriod: time.Second})
	benchtest.SerialAndParallel(b, "gobreaker", gb, executeGobreaker)
	fs := failsafe.With[any](fscb.NewBuilder[any]().WithFailureRateThreshold(0.5, 20, 10*time.Second).Build())
	benchtest.SerialAndParallel(b, "failsafe-go", fs, runFailsafe)
}

// An open breaker refusing calls.
func BenchmarkBreakerOpen(b *testing.B) {
	wt := breaker.MustNew(breaker.Config{WindowCalls: 1, OpenBackoff: backoff.NewConstantBackOff(time.Hour)})
	_ = wt.Do(context.Background(), func(context.Context) error { return errDown })
	benchtest.SerialAndParallel(b, "watertight", wt, doBreaker)
	gb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Timeout:     time.Hour,
		ReadyToTrip: func(gobreaker.Counts) bool { return true },
	})
	_, _ = gb.Execute(func() (struct{}, error) { return struct{}{}, errDown })
	benchtest.SerialAndParallel(b, "gobreaker", gb, executeGobreaker)
	cb := fscb.NewBuilder[any]().WithDelay(time.Hour).Build()
	cb.Open()
	fs := failsafe.With[any](cb)
	benchtest.SerialAndParallel(b, "failsafe-go", fs, runFailsafe)
	ea := eapache.New(1, 1, time.Hour)
	_ = ea.Run(func() error { return errDown })
	benchtest.SerialAndParallel(b, "eapache", ea, func(ea *eapache.Breaker) { _ = ea.Run(nopE) })

	// Beside them, what the refusal is measured against: the same breaker's
	// successful closed call (count window), and the one clock read an
	// open breaker cannot skip, having no timer to tell it the open period
	// is over.
	benchtest.SerialAndParallel(b, "watertight-closed", breaker.MustNew(breaker.Config{WindowCalls: 1}), doBreaker)
	benchtest.SerialAndParallel(b, "floor=clock-read", struct{}{}, func(struct{}) { _ = monotime.Now() })
}
