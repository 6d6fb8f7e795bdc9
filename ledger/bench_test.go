package ledger_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/ledger"
)

// Start beside its floor, the least that carries a value in a ctx.
func BenchmarkStart(b *testing.B) {
	ctx := context.Background()
	type key struct{}
	benchtest.SerialAndParallel(b, "Start", ctx, func(ctx context.Context) { _, _ = ledger.Start(ctx) })
	benchtest.SerialAndParallel(b, "floor=context.WithValue", ctx, func(ctx context.Context) { _ = context.WithValue(ctx, key{}, 1) })
}

// Record of the first entries (a fresh Ledger every DefaultMaxEntries
// records, so that none is past the bound), through the ctx as a gate
// records, beside its floor: a mutex and an append.
func BenchmarkRecord(b *testing.B) {
	e := ledger.Entry{Name: "payments", Kind: ledger.Attempt, Start: time.Millisecond, Duration: 50 * time.Millisecond}
	b.Run("Record", func(b *testing.B) {
		b.ReportAllocs()
		ctx, _ := ledger.Start(context.Background())
		n := 0
		for b.Loop() {
			if n++; n == ledger.DefaultMaxEntries {
				b.StopTimer()
				ctx, _ = ledger.Start(context.Background())
				n = 0
				b.StartTimer()
			}
			ledger.Record(ctx, e)
		}
	})
	b.Run("Record/parallel", func(b *testing.B) {
		b.ReportAllocs()
		ctx, l := ledger.Start(context.Background(), ledger.WithMaxEntries(1)) // the bound reached: totals only
		l.Record(e)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ledger.Record(ctx, e)
			}
		})
	})
	b.Run("floor=mutex+append", func(b *testing.B) {
		b.ReportAllocs()
		var mu sync.Mutex
		var entries [ledger.DefaultMaxEntries]ledger.Entry
		n := 0
		for b.Loop() {
			mu.Lock()
			entries[n%len(entries)] = e
			n++
			mu.Unlock()
		}
	})
	b.Run("no ledger", func(b *testing.B) {
		b.ReportAllocs()
		type other struct{}
		ctx := context.WithValue(context.Background(), other{}, 1)
		for b.Loop() {
			ledger.Record(ctx, e)
		}
	})
}

// The Server-Timing value of 8 totals, beside its floor: the same 8
// metrics, written out already, joined.
func BenchmarkServerTiming(b *testing.B) {
	ctx, l := ledger.Start(context.Background())
	for _, n := range []string{"db", "payments", "search", "cache", "auth", "ledger", "fx", "email"} {
		ledger.Record(ctx, ledger.Entry{Name: n, Kind: ledger.Attempt, Duration: 12345 * time.Microsecond})
	}
	v := l.ServerTiming()
	parts := strings.Split(v, ", ")
	b.Run("ServerTiming", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = l.ServerTiming()
		}
	})
	b.Run("floor=strings.Join", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = strings.Join(parts, ", ")
		}
	})
}
