package benchmarks_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/sony/gobreaker/v2"

	"github.com/watertight-go/watertight/breaker"
)

// watertight's breaker beside sony/gobreaker v2's Execute, the Go breaker
// most services use, on a call that does nothing: the cost of the breaker
// itself.

var errDown = errors.New("down")

func nop(context.Context) error { return nil }

func nopT() (struct{}, error) { return struct{}{}, nil }

func serialAndParallel(b *testing.B, name string, op func()) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			op()
		}
	})
	b.Run(name+"/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				op()
			}
		})
	})
}

// Closed, successful calls. watertight with a count window reads no clock;
// gobreaker reads it twice per call (before and after), under a mutex.
func BenchmarkBreakerClosedCountWindow(b *testing.B) {
	ctx := context.Background()
	wt := breaker.MustNew(breaker.Config{WindowCalls: 100})
	serialAndParallel(b, "watertight", func() { _ = wt.Do(ctx, nop) })
	gb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{})
	serialAndParallel(b, "gobreaker", func() { _, _ = gb.Execute(nopT) })
}

// Closed, successful calls, with a 10 s time window on both (gobreaker's
// rolling window of 1 s buckets).
func BenchmarkBreakerClosedTimeWindow(b *testing.B) {
	ctx := context.Background()
	wt := breaker.MustNew(breaker.Config{Window: 10 * time.Second})
	serialAndParallel(b, "watertight", func() { _ = wt.Do(ctx, nop) })
	gb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Interval: 10 * time.Second, BucketPeriod: time.Second})
	serialAndParallel(b, "gobreaker", func() { _, _ = gb.Execute(nopT) })
}

// Closed, successful calls, timing each call against a slow-call
// threshold (gobreaker has none; it is given its rolling window).
func BenchmarkBreakerClosedSlowCalls(b *testing.B) {
	ctx := context.Background()
	wt := breaker.MustNew(breaker.Config{WindowCalls: 100, SlowCall: time.Second})
	serialAndParallel(b, "watertight", func() { _ = wt.Do(ctx, nop) })
	gb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Interval: 10 * time.Second, BucketPeriod: time.Second})
	serialAndParallel(b, "gobreaker", func() { _, _ = gb.Execute(nopT) })
}

// An open breaker refusing calls.
func BenchmarkBreakerOpen(b *testing.B) {
	ctx := context.Background()
	wt := breaker.MustNew(breaker.Config{WindowCalls: 1, OpenBackoff: backoff.NewConstantBackOff(time.Hour)})
	_ = wt.Do(ctx, func(context.Context) error { return errDown })
	serialAndParallel(b, "watertight", func() { _ = wt.Do(ctx, nop) })
	gb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Timeout:     time.Hour,
		ReadyToTrip: func(gobreaker.Counts) bool { return true },
	})
	_, _ = gb.Execute(func() (struct{}, error) { return struct{}{}, errDown })
	serialAndParallel(b, "gobreaker", func() { _, _ = gb.Execute(nopT) })
}
