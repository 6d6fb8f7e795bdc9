package adaptive

import "time"

// Limit is a concurrency limit that sets itself from the calls it sees.
type Limit interface {
	// Observe reports one finished call and returns the new limit, in
	// [1, the algorithm's Max]. It is called concurrently from the calls'
	// goroutines. The bulkhead clamps what it returns to its own ceiling.
	Observe(s Sample) int
}

// Sample is one finished call.
type Sample struct {
	// Start is when the call took its slot, as a monotonic reading: only
	// differences between Starts mean anything. The algorithms take their
	// sense of time from the samples alone and never read the clock.
	Start time.Duration
	// RTT is how long the call held its slot.
	RTT time.Duration
	// InFlight is how many calls held a slot when it started, itself
	// included.
	InFlight int
	// Dropped says the call failed in a way that signals overload: an
	// inner deadline, or an inner refusal.
	Dropped bool
	// Calls is how many calls the sample stands for: a bulkhead whose
	// calls come faster than a limit needs times one in Calls of them,
	// and reports it with the weight of all. 0 counts as 1.
	Calls int
}

// weight is s.Calls, at least 1.
func (s Sample) weight() int { return max(s.Calls, 1) }

// Shared defaults, and why.
const (
	// DefaultInitial is the limit before the first sample: Netflix's
	// concurrency-limits start there too.
	DefaultInitial = 20
	// DefaultMin keeps one call going, so that the limit can learn again.
	DefaultMin = 1
	// DefaultMax bounds the limit; a bulkhead's MaxConcurrent bounds it
	// again.
	DefaultMax = 1000
	// MaxLimit bounds Initial, Min, Max and GradientConfig.QueueSize: a
	// bulkhead's largest limit.
	MaxLimit = 1<<20 - 1
	// MaxProbeInterval bounds GradientConfig.ProbeInterval: a day.
	MaxProbeInterval = 24 * time.Hour
)
