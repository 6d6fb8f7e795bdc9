package benchmarks_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/alitto/pond/v2"
	eapachebreaker "github.com/eapache/go-resiliency/breaker"
	eapachesem "github.com/eapache/go-resiliency/semaphore"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	fscb "github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/panjf2000/ants/v2"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/semaphore"

	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/pool"
)

// What an idle instance costs: B/op and allocs/op are the cost of making
// one; goroutines/instance counts the goroutines a thousand of them keep
// while idle.

func memory(b *testing.B, name string, newInstance func() (stop func())) {
	b.Run(name, func(b *testing.B) {
		before := runtime.NumGoroutine()
		var stops []func()
		for range 1000 {
			stops = append(stops, newInstance())
		}
		runtime.Gosched()
		idle := runtime.NumGoroutine() - before
		for _, stop := range stops {
			stop()
		}
		b.ReportAllocs()
		for b.Loop() {
			newInstance()()
		}
		b.ReportMetric(float64(idle)/1000, "goroutines/instance")
	})
}

func none() {}

// sink keeps each instance on the heap, as a real one would be.
var sink any

func BenchmarkMemoryBulkhead(b *testing.B) {
	memory(b, "watertight", func() func() { sink = bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 64, MaxQueue: 64}); return none })
	memory(b, "x-sync-semaphore", func() func() { sink = semaphore.NewWeighted(64); return none })
	memory(b, "chan-semaphore", func() func() { sink = make(chan struct{}, 64); return none })
	memory(b, "failsafe-go", func() func() { sink = fsbulkhead.New[any](64); return none })
	memory(b, "eapache", func() func() { sink = eapachesem.New(64, time.Second); return none })
}

func BenchmarkMemoryBreaker(b *testing.B) {
	memory(b, "watertight", func() func() { sink = breaker.MustNew(breaker.Config{WindowCalls: 100}); return none })
	memory(b, "gobreaker", func() func() { sink = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{}); return none })
	memory(b, "failsafe-go", func() func() { sink = fscb.NewBuilder[any]().WithFailureThresholdRatio(50, 100).Build(); return none })
	memory(b, "eapache", func() func() { sink = eapachebreaker.New(50, 1, time.Minute); return none })
}

func BenchmarkMemoryPool(b *testing.B) {
	memory(b, "watertight", func() func() {
		p := pool.MustNew(pool.Config{Workers: 4, QueueSize: 16})
		return func() { _ = p.Close(bg) }
	})
	memory(b, "pond", func() func() {
		p := pond.NewPool(4, pond.WithQueueSize(16))
		return p.StopAndWait
	})
	memory(b, "ants", func() func() {
		p, err := ants.NewPool(4)
		if err != nil {
			panic(err)
		}
		return func() { _ = p.ReleaseTimeout(time.Second) }
	})
}

var bg = context.Background()
