package benchmarks_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/failsafe-go/failsafe-go"
)

// Every group runs the same trivial work through each library, named
// Benchmark<Group>/<library> and Benchmark<Group>/<library>/parallel;
// cmd/report turns them into BENCHMARKS.md, with each row's ratio to the
// watertight row of its group.

var errDown = errors.New("down")

func nop(context.Context) error { return nil }

func nopT() (struct{}, error) { return struct{}{}, nil }

func nopE() error { return nil }

// runFailsafe is the op of failsafe-go's rows: a trivial call through fs.
func runFailsafe(fs failsafe.Executor[any]) { _ = fs.Run(nopE) }

// yield is the work of a contended call: long enough that others queue.
func yield(context.Context) error { runtime.Gosched(); return nil }

// contended runs op from 16 goroutines per CPU, so that most callers wait.
func contended(b *testing.B, name string, op func()) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				op()
			}
		})
	})
}
