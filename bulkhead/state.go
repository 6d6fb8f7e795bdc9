package bulkhead

// state packs what an acquire must see at once into one word, so that the
// uncontended acquire is a single compare-and-swap and the release a single
// atomic add:
//
//	bits  0..19  in flight
//	bits 20..39  limit (MaxConcurrent)
//	bits 40..57  waiting
//	bits 58..63  slots granted without a wait, not yet moved to
//	             Bulkhead.granted (a counter that rides along in the CAS
//	             instead of costing a second shared atomic)
//
// Invariant: while anyone is waiting, no slot is free (inFlight >= limit),
// except for the moment between a release's atomic add and its handOff,
// which gives the slot to the first waiter. Waiters are only added, removed
// or served under Bulkhead.mu, and the lock-free acquire runs only while
// nobody waits, so such a slot cannot be taken out of turn.
type state uint64

const (
	inFlightBits = 20
	limitBits    = 20
	waitingBits  = 18
	grantedBits  = 64 - inFlightBits - limitBits - waitingBits

	oneInFlight state = 1
	oneLimit    state = 1 << inFlightBits
	oneWaiting  state = 1 << (inFlightBits + limitBits)
	oneGranted  state = 1 << (inFlightBits + limitBits + waitingBits)

	inFlightMask = 1<<inFlightBits - 1
	limitMask    = 1<<limitBits - 1
	waitingMask  = 1<<waitingBits - 1
	grantedMax   = 1<<grantedBits - 1
)

func makeState(inFlight, limit, waiting int) state {
	return state(inFlight) | state(limit)*oneLimit | state(waiting)*oneWaiting
}

func (s state) inFlight() int { return int(s & inFlightMask) }
func (s state) limit() int    { return int(s >> inFlightBits & limitMask) }
func (s state) waiting() int  { return int(s >> (inFlightBits + limitBits) & waitingMask) }
func (s state) granted() int  { return int(s >> (inFlightBits + limitBits + waitingBits)) }

// withLimit returns s with the limit replaced by n.
func (s state) withLimit(n int) state { return s&^(limitMask*oneLimit) | state(n)*oneLimit }

// free reports whether a newcomer may take a slot at once: a slot is free
// and nobody is ahead of it in the queue.
func (s state) free() bool { return s.waiting() == 0 && s.inFlight() < s.limit() }
