package timeout

import "github.com/watertight-go/watertight/poolwait"

// Stats is a snapshot of a Timeout's counters and gauges.
type Stats struct {
	Calls      uint64 // calls that started fn (Duration.Count)
	Exceeded   uint64 // calls our deadline ended, including those that then returned nil
	Canceled   uint64 // calls the caller's deadline or cancellation ended, or that came with a done ctx
	Refused    uint64 // calls not started: less than MinRemaining left (ErrNoBudget)
	Abandoned  int64  // live: abandoned calls whose fn is still running
	LatePanics uint64 // abandoned calls whose fn panicked after the caller left

	// Duration is how long each call kept its caller: until fn returned,
	// or, abandoned, until the caller left.
	Duration poolwait.Stats
}

// Stats returns a snapshot. It takes no lock and allocates nothing.
func (t *Timeout) Stats() Stats {
	if t == nil {
		return Stats{}
	}
	c := t.stats
	if c == nil {
		return Stats{} // a zero Timeout
	}
	st := Stats{
		Exceeded:   c.exceeded.Load(),
		Canceled:   c.canceled.Load(),
		Refused:    c.refused.Load(),
		Abandoned:  c.abandoned.Load(),
		LatePanics: c.latePanics.Load(),
		Duration:   c.duration.Stats(),
	}
	st.Calls = st.Duration.Count
	return st
}
