package retry

import "github.com/watertight-go/watertight/poolwait"

// Stats is a snapshot of a Retry's counters.
type Stats struct {
	Calls     uint64 // calls of Do
	Attempts  uint64 // attempts made: Calls + Retries
	Retries   uint64 // attempts after the first (a retry whose wait the ctx ended made none)
	Recovered uint64 // calls that succeeded after a retry
	GaveUp    GaveUp // calls that ended on a retryable error, by reason

	// Waited is the time spent between attempts, each wait once.
	Waited poolwait.Stats
}

// GaveUp counts the calls that returned an *Error, by Reason.
type GaveUp struct {
	Attempts, Budget, Deadline, RetryAfter uint64
}

// Stats returns a snapshot. It takes no lock and allocates nothing.
func (r *Retry) Stats() Stats {
	if r == nil {
		return Stats{}
	}
	st := Stats{
		Calls:     r.calls.Load(),
		Retries:   r.retries.Load(),
		Recovered: r.recovered.Load(),
		GaveUp: GaveUp{
			Attempts:   r.gaveUpAttempts.Load(),
			Budget:     r.gaveUpBudget.Load(),
			Deadline:   r.gaveUpDeadline.Load(),
			RetryAfter: r.gaveUpRetryAfter.Load(),
		},
		Waited: r.waited.Stats(),
	}
	st.Attempts = st.Calls + st.Retries
	return st
}
