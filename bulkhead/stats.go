package bulkhead

import (
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/poolwait"
)

// Stats is a snapshot of a Bulkhead's gauges and cumulative counters, like
// sql.DBStats. Every granted call is in Wait, zero waits included, so that
// its quantiles are honest.
type Stats struct {
	MaxConcurrent int // the current limit
	InFlight      int // calls holding a slot now
	Waiting       int // callers queued for a slot now

	Acquired uint64 // slots granted (Wait.Count)
	Rejected uint64 // ErrFull, and TryAcquire refusals
	TimedOut uint64 // ErrWaitTimeout
	Canceled uint64 // the caller's ctx ended before a slot was granted
	Shed     uint64 // waiters a CoDel queue refused (ErrWaitTimeout): past the target when it stood, or past the interval

	// Controlled reports whether a CoDel queue stands now (serving newest
	// first, holding waiters to the target).
	Controlled bool

	Wait poolwait.Stats // how long each granted call waited for its slot
}

// Stats returns a snapshot. It allocates nothing; the gauges are read
// together, the counters one after another. It takes the bulkhead's lock
// briefly, so that Acquired never goes backwards.
func (b *Bulkhead) Stats() Stats {
	if b == nil {
		return Stats{}
	}
	b.mu.Lock()
	s := state(b.state.Load())
	noWait := b.granted + uint64(s.granted())
	controlled := b.codel != nil && b.codel.Standing(b.queue.head != nil, monotime.Now())
	b.mu.Unlock()
	st := Stats{
		MaxConcurrent: s.limit(),
		InFlight:      s.inFlight(),
		Waiting:       s.waiting(),
		Rejected:      b.rejected.Load(),
		TimedOut:      b.timeouts.Load(),
		Canceled:      b.cancelled.Load(),
		Shed:          b.shed.Load(),
		Controlled:    controlled,
		Wait:          b.wait.Stats(),
	}
	// Slots granted at once are counted in the state word; they are waits
	// of zero.
	st.Wait.Buckets[0] += noWait
	st.Wait.Count += noWait
	st.Acquired = st.Wait.Count
	return st
}
