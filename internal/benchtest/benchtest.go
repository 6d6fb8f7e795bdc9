// Package benchtest holds the benchmark helper every package's benchmarks
// share: the same op run serially and from GOMAXPROCS goroutines.
package benchtest

import "testing"

// SerialAndParallel runs op as b.Run(name) in a loop and as
// b.Run(name+"/parallel") under RunParallel, both reporting allocations.
func SerialAndParallel(b *testing.B, name string, op func()) {
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
