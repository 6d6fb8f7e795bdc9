package poolwait_test

import (
	"fmt"
	"time"

	"github.com/watertight-go/watertight/poolwait"
)

func ExampleRecorder() {
	var r poolwait.Recorder // the zero value is ready
	for range 90 {
		r.Observe(0) // most callers got a slot at once
	}
	for range 10 {
		r.Observe(200 * time.Millisecond) // a few waited
	}
	s := r.Stats()
	fmt.Println("waits:", s.Count, "mean:", s.Mean(), "max:", s.Max)
	fmt.Println("p50:", s.Quantile(0.5))
	fmt.Println("p99:", s.Quantile(0.99).Round(time.Millisecond), "(within 6.1% of 200ms)")
	// Output:
	// waits: 100 mean: 20ms max: 200ms
	// p50: 0s
	// p99: 193ms (within 6.1% of 200ms)
}

func ExampleStats_Sub() {
	var r poolwait.Recorder
	r.Observe(time.Second)
	prev := r.Stats() // the previous scrape

	r.Observe(40 * time.Millisecond)
	r.Observe(60 * time.Millisecond)

	last := r.Stats().Sub(prev) // only the waits since then
	fmt.Println("waits:", last.Count, "mean:", last.Mean())
	// Output:
	// waits: 2 mean: 50ms
}
