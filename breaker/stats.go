package breaker

import (
	"time"

	"github.com/watertight-go/watertight/internal/monotime"
)

// Stats is a snapshot of a Breaker.
type Stats struct {
	State State

	// The closed window now: its calls, and how many failed or were slow.
	// Zero outside Closed.
	WindowCalls, WindowFailures, WindowSlowCalls int64
	// FailureRate and SlowCallRate of the window, or -1 while it holds
	// fewer than MinCalls calls (or outside Closed; SlowCallRate also when
	// slow calls are not tracked).
	FailureRate, SlowCallRate float64

	// Cumulative counts of calls: let through and succeeded or failed
	// (SlowCalls counts the slow ones among both), counted neither way,
	// and refused (open or half-open full); and of state transitions.
	Successes, Failures, SlowCalls, Ignored, Rejected, Transitions uint64

	// HalfOpenProbes is how many probes are out now: let through in this
	// half-open period and not yet reported. Zero unless State is HalfOpen.
	HalfOpenProbes int64

	// OpenPeriod is the length of the current open period and OpenLeft the
	// time left in it; both zero unless State is Open.
	OpenPeriod, OpenLeft time.Duration
}

// Stats returns a snapshot. Like State, it applies the transitions that
// time has made due. It holds the breaker's lock for a moment, to read
// the totals of calls consistently.
func (b *Breaker) Stats() Stats {
	if b == nil {
		return Stats{}
	}
	now := monotime.Now()
	p := b.current(now)
	st := Stats{
		State:        p.state,
		FailureRate:  -1,
		SlowCallRate: -1,
		Failures:     b.failures.Load(),
		SlowCalls:    b.slowCalls.Load(),
		Ignored:      b.ignored.Load(),
		Rejected:     b.stripes.rejected(),
		Transitions:  b.transitionTotal.Load(),
	}
	// The calls of the current window and of the windows that ended must
	// be read together: a transition moves them from one to the other.
	b.mu.Lock()
	calls := uint64(b.folded)
	if cur := b.cur.Load(); cur.state == Closed {
		calls += uint64(cur.win.counted())
	}
	b.mu.Unlock()
	calls += b.stripes.calls()
	st.Successes = calls - min(calls, st.Failures)

	switch p.state {
	case Closed:
		c := p.win.counts(now)
		st.WindowCalls, st.WindowFailures, st.WindowSlowCalls = c.calls, c.failures, c.slows
		if c.calls >= b.s.minCalls && c.calls > 0 {
			st.FailureRate = rate(c.failures, c.calls)
			if b.s.SlowCall > 0 {
				st.SlowCallRate = rate(c.slows, c.calls)
			}
		}
	case HalfOpen:
		st.HalfOpenProbes = p.admitted.Load() - p.reported.Load()
	case Open:
		st.OpenPeriod = p.length
		st.OpenLeft = time.Duration(p.until - now)
	}
	return st
}
