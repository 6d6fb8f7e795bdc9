package breaker

import (
	"strconv"
	"sync/atomic"
	"time"
)

// State is a breaker's state.
type State int32

const (
	// Closed lets every call through and watches the window.
	Closed State = iota
	// Open rejects every call with an *OpenError until the open period
	// ends.
	Open
	// HalfOpen lets HalfOpenCalls probes through and rejects the rest with
	// ErrHalfOpenFull until the probes decide.
	HalfOpen
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Reason says why a transition happened.
type Reason string

// The reasons a breaker changes state.
const (
	ReasonFailureRate     Reason = "failure rate"            // closed → open
	ReasonSlowCallRate    Reason = "slow-call rate"          // closed → open
	ReasonOpenPeriodEnded Reason = "open period ended"       // open → half-open
	ReasonProbesPassed    Reason = "half-open probes passed" // half-open → closed
	ReasonProbesFailed    Reason = "half-open probes failed" // half-open → open, by failure rate
	ReasonProbesSlow      Reason = "half-open probes slow"   // half-open → open, by slow-call rate
	ReasonHalfOpenTimeout Reason = "half-open timeout"       // half-open → open: probes did not all report
	ReasonReset           Reason = "reset"                   // any → closed, by Reset
)

// StateChange is what OnStateChange receives.
type StateChange struct {
	Name     string // Config.Name
	From, To State
	Reason   Reason
	At       time.Time // when the transition happened
	// OpenPeriod is how long the breaker stays open, when To is Open.
	OpenPeriod time.Duration
}

// period is one stretch of a single state. Every transition installs a new
// period, so a period pointer is also the generation: a call records into
// the period it was admitted in, and a result from an earlier period lands
// somewhere nobody reads any more.
type period struct {
	state State

	// Closed.
	win window

	// Open.
	until  int64         // monotime when probes may start
	length time.Duration // how long the open period is
	retry  atomic.Pointer[sharedRejection]

	// HalfOpen.
	timeout                   int64 // HalfOpenTimeout, or the open period before
	deadline                  atomic.Int64
	admitted, reported        atomic.Int64
	probeFailures, probeSlows atomic.Int64
}

// openError returns the rejection for now: RetryAfter is the time left,
// rounded up to a whole second, and one error serves the whole second.
func (p *period) openError(name string, now int64) error {
	if r := p.retry.Load(); r != nil && now > r.from && now <= r.to {
		return r.err
	}
	secs := (p.until - now + int64(time.Second) - 1) / int64(time.Second)
	r := &sharedRejection{
		err:  &OpenError{Name: name, RetryAfter: time.Duration(secs) * time.Second},
		from: p.until - secs*int64(time.Second),
		to:   p.until - (secs-1)*int64(time.Second),
	}
	p.retry.Store(r)
	return r.err
}

// sharedRejection is the *OpenError of every refusal in (from, to]: the
// second in which RetryAfter, rounded up, stays the same.
type sharedRejection struct {
	err      *OpenError
	from, to int64
}
