package hedge

import "time"

// Stats is a snapshot of a Hedge's counters and gauges.
type Stats struct {
	Calls     uint64        // calls of Do
	Hedges    uint64        // extra attempts started
	HedgeWins uint64        // calls a hedge won
	Refused   uint64        // hedges the budget refused
	Running   int           // hedge attempts still running: losers, once their call is decided
	Delay     time.Duration // the delay in force now; 0: hedging only on retryable failures (adaptive, before Warmup)
}

// Stats returns a snapshot. It takes no lock and allocates nothing.
func (h *Hedge) Stats() Stats {
	if h == nil {
		return Stats{}
	}
	return Stats{
		Calls:     h.calls.Load(),
		Hedges:    h.hedges.Load(),
		HedgeWins: h.wins.Load(),
		Refused:   h.refused.Load(),
		Running:   int(h.running.Load()),
		Delay:     h.delay(),
	}
}
