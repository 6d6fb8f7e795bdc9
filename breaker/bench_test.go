package breaker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/internal/monotime"
)

// The floors: the call itself, with nothing around it, and the call plus
// one atomic add on a shared counter — the least an exact count window
// can do, since every call must take the next place in the ring. Peers
// (sony/gobreaker) are compared in the benchmarks/ module.

func nop(context.Context) error { return nil }

func BenchmarkClosed(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		cfg  breaker.Config
	}{
		{"count-window", breaker.Config{WindowCalls: 100}},
		{"time-window", breaker.Config{}},
		{"count-window+slow-calls", breaker.Config{WindowCalls: 100, SlowCall: time.Second}},
	} {
		br := breaker.MustNew(c.cfg)
		benchtest.SerialAndParallel(b, c.name, func() { _ = br.Do(ctx, nop) })
	}
	benchtest.SerialAndParallel(b, "floor=direct-call", func() { _ = nop(ctx) })
	var shared atomic.Int64
	benchtest.SerialAndParallel(b, "floor=call+shared-atomic-add", func() { shared.Add(1); _ = nop(ctx) })
}

func BenchmarkOpenRejection(b *testing.B) {
	ctx := context.Background()
	br := breaker.MustNew(breaker.Config{WindowCalls: 1, OpenBackoff: backoff.NewConstantBackOff(time.Hour)})
	_ = br.Do(ctx, func(context.Context) error { return errBenchDown })
	if br.State() != breaker.Open {
		b.Fatal("not open")
	}
	benchtest.SerialAndParallel(b, "open", func() { _ = br.Do(ctx, nop) })
	// The floor: an open breaker must read the clock to know whether its
	// open period has ended (it has no timer), and a closed count window
	// does not read it at all.
	benchtest.SerialAndParallel(b, "floor=clock-read", func() { _ = monotime.Now() })
}

func BenchmarkAllow(b *testing.B) {
	br := breaker.MustNew(breaker.Config{WindowCalls: 100})
	benchtest.SerialAndParallel(b, "count-window", func() {
		done, _ := br.Allow()
		done(nil)
	})
}

func BenchmarkStats(b *testing.B) {
	br := breaker.MustNew(breaker.Config{})
	benchtest.SerialAndParallel(b, "time-window", func() { _ = br.Stats() })
}

var errBenchDown = errDown
