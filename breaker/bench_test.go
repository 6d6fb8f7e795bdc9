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

// do is every breaker benchmark's op: a successful call through br.
func do(br *breaker.Breaker) { _ = br.Do(context.Background(), nop) }

func BenchmarkClosed(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  breaker.Config
	}{
		{"count-window", breaker.Config{WindowCalls: 100}},
		{"time-window", breaker.Config{}},
		{"count-window+slow-calls", breaker.Config{WindowCalls: 100, SlowCall: time.Second}},
	} {
		br := breaker.MustNew(c.cfg)
		benchtest.SerialAndParallel(b, c.name, br, do)
	}
	benchtest.SerialAndParallel(b, "floor=direct-call", struct{}{}, func(struct{}) { _ = nop(context.Background()) })
	benchtest.SerialAndParallel(b, "floor=call+shared-atomic-add", new(atomic.Int64), func(shared *atomic.Int64) {
		shared.Add(1)
		_ = nop(context.Background())
	})
}

func BenchmarkOpenRejection(b *testing.B) {
	br := breaker.MustNew(breaker.Config{WindowCalls: 1, OpenBackoff: backoff.NewConstantBackOff(time.Hour)})
	_ = br.Do(context.Background(), func(context.Context) error { return errBenchDown })
	if br.State() != breaker.Open {
		b.Fatal("not open")
	}
	benchtest.SerialAndParallel(b, "open", br, do)
	// The floor: an open breaker must read the clock to know whether its
	// open period has ended (it has no timer), and a closed count window
	// does not read it at all.
	benchtest.SerialAndParallel(b, "floor=clock-read", struct{}{}, func(struct{}) { _ = monotime.Now() })
}

func BenchmarkAllow(b *testing.B) {
	br := breaker.MustNew(breaker.Config{WindowCalls: 100})
	benchtest.SerialAndParallel(b, "count-window", br, func(br *breaker.Breaker) {
		done, _ := br.Allow()
		done(nil)
	})
}

func BenchmarkStats(b *testing.B) {
	br := breaker.MustNew(breaker.Config{})
	benchtest.SerialAndParallel(b, "time-window", br, func(br *breaker.Breaker) { _ = br.Stats() })
}

var errBenchDown = errDown
