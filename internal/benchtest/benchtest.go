// Package benchtest holds the benchmark helper every package's benchmarks
// share: the same op run serially and from GOMAXPROCS goroutines.
package benchtest

import "testing"

// SerialAndParallel runs op(state) as b.Run(name) in a loop and as
// b.Run(name+"/parallel") under RunParallel, both reporting allocations.
//
// Each goroutine of the parallel run passes op its own copy of state, and
// op should capture nothing: a func literal that captures variables is an
// object on the heap that every goroutine reads on every call, and the
// testing package's per-goroutine iteration counters (32 bytes each,
// written on every iteration) can be allocated on its cache line. When
// they were, the parallel figure of a 30 ns op doubled, from one run to
// the next.
func SerialAndParallel[S any](b *testing.B, name string, state S, op func(S)) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			op(state)
		}
	})
	b.Run(name+"/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			f, s := op, state // locals: the enclosing closure is on the heap too
			for pb.Next() {
				f(s)
			}
		})
	})
}
