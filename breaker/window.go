package breaker

import "sync/atomic"

// outcome is one call's result as a window records it.
type outcome uint32

const (
	failed outcome = 1 << iota
	slow
	filled // set in every count-window slot that holds a call
)

// counts are the calls in a window and how many of them failed or were
// slow.
type counts struct{ calls, failures, slows int64 }

// window is a closed period's record of recent calls. Each closed period
// gets a new one, so a call that started in an earlier period records into
// a window nobody reads any more: the generation check costs nothing.
type window interface {
	// record adds one call at now (monotime; unused by count windows). It
	// reports whether the caller should check the rates: they can only
	// have risen to a threshold if this call failed or was slow, or the
	// window just reached its minimum size, or (time windows) old calls
	// left it. counted reports whether the window also counted the call
	// for the breaker's totals (see seal); if not, the caller must.
	record(o outcome, now int64, minCalls int64) (check, counted bool)
	counts(now int64) counts
	// seal stops the window counting calls for the totals and returns how
	// many it counted: from then on, record reports counted false.
	seal() int64
	// counted is how many calls the window has counted for the totals.
	counted() int64
}

// countWindow holds the last len(slots) calls in a ring. Recording swaps
// the new outcome into its slot and adjusts the totals by the difference,
// so the totals always agree with the slots, without a lock.
//
// next is the only word every recorded call writes, so it doubles as the
// breaker's count of calls in this period (one contended atomic per call,
// not two). A success into a window full of successes is not recorded at
// all (see record). Slots are laid out so that consecutive calls, which
// run on different cores, write different cache lines.
type countWindow struct {
	size      int64 // WindowCalls
	lineShift uint  // log2 of the number of cache lines of slots
	slots     []atomic.Uint32
	_         [64]byte
	next      atomic.Int64 // calls recorded so far; sealBit once sealed
	_         [64]byte
	failures  atomic.Int64
	slows     atomic.Int64
}

const (
	slotsPerLine = 16 // 4-byte slots in a 64-byte line
	sealBit      = 1 << 62
)

func newCountWindow(n int) *countWindow {
	shift := uint(0)
	for 1<<shift*slotsPerLine < n {
		shift++
	}
	return &countWindow{size: int64(n), lineShift: shift, slots: make([]atomic.Uint32, 1<<shift*slotsPerLine)}
}

// slot returns the slot of the i-th call of the ring. Call i is in line
// i mod lines (a power of two), so neighbours in time, which run on
// different cores, write different cache lines.
func (w *countWindow) slot(i int64) *atomic.Uint32 {
	i %= w.size
	lines := int64(1) << w.lineShift
	return &w.slots[(i&(lines-1))*slotsPerLine+i>>w.lineShift]
}

func (w *countWindow) record(o outcome, _ int64, minCalls int64) (check, counted bool) {
	if o == 0 && w.failures.Load() == 0 && w.slows.Load() == 0 && w.next.Load() >= w.size {
		// The window is full of successes, and one more changes nothing
		// in it: the slot it would take holds a success already. Leaving
		// next alone spares every core the one contended write per call;
		// the caller counts the call for the totals instead. (next also
		// passes size once the window is sealed, which needs no record.)
		return false, false
	}
	n := w.next.Add(1)
	if n&sealBit != 0 {
		return false, false // the period is over: nobody reads this window
	}
	slot, v := w.slot(n-1), uint32(o|filled)
	if slot.Load() == v {
		// Unchanged (the common case: a success where a success was).
		// Not writing keeps the line shared between cores; it is as if
		// this call wrote just before whoever writes the slot next.
		return o&(failed|slow) != 0 || n == minCalls, true
	}
	old := outcome(slot.Swap(v))
	if d := int64(o&failed) - int64(old&failed); d != 0 {
		w.failures.Add(d)
	}
	if d := int64(o&slow>>1) - int64(old&slow>>1); d != 0 {
		w.slows.Add(d)
	}
	return o&(failed|slow) != 0 || n == minCalls, true
}

func (w *countWindow) counts(int64) counts {
	return counts{
		calls:    min(w.counted(), w.size),
		failures: w.failures.Load(),
		slows:    w.slows.Load(),
	}
}

func (w *countWindow) seal() int64 { return w.next.Or(sealBit) &^ sealBit }

func (w *countWindow) counted() int64 { return w.next.Load() &^ sealBit }

// timeWindow keeps timeBuckets buckets of width ns each. A bucket's word
// packs the number of the period it counts (its epoch) with its counts, so
// a recorder that finds a stale bucket starts it afresh with one
// compare-and-swap, and no count lands in the wrong period.
type timeWindow struct {
	width int64
	calls [timeBuckets]atomic.Uint64 // epoch | calls | failures
	slows [timeBuckets]atomic.Uint64 // epoch | slows
}

// A bucket word: the epoch in the top 24 bits, then two 20-bit counts. A
// count saturates at 2^20-1 calls per bucket; the epoch wraps after 2^24
// bucket widths, long past any window.
const (
	countBits  = 20
	countMask  = 1<<countBits - 1
	epochShift = 2 * countBits
	epochMask  = 1<<24 - 1
)

func newTimeWindow(width int64) *timeWindow { return &timeWindow{width: width} }

func (w *timeWindow) record(o outcome, now int64, minCalls int64) (check, counted bool) {
	epoch := uint64(now/w.width) & epochMask
	i := epoch % timeBuckets
	calls, fresh := add(&w.calls[i], epoch, 1, uint64(o&failed))
	if o&slow != 0 {
		add(&w.slows[i], epoch, 1, 0)
	}
	// Rates can rise without a failure only when old calls leave the
	// window, which happens when a bucket starts afresh, or when the
	// window first reaches MinCalls calls, which cannot be if this bucket
	// alone already held more.
	return o&(failed|slow) != 0 || fresh || int64(calls) <= minCalls, false
}

func (w *timeWindow) seal() int64 { return 0 }

func (w *timeWindow) counted() int64 { return 0 }

// add adds a and b to the two counts of the bucket word in p, starting the
// bucket afresh (fresh) if it counted an older epoch. It returns the first
// count after the add.
func add(p *atomic.Uint64, epoch, a, b uint64) (count uint64, fresh bool) {
	for {
		old := p.Load()
		var ca, cb uint64
		fresh = old>>epochShift != epoch
		if !fresh {
			ca, cb = old>>countBits&countMask, old&countMask
		}
		ca, cb = min(ca+a, countMask), min(cb+b, countMask)
		if p.CompareAndSwap(old, epoch<<epochShift|ca<<countBits|cb) {
			return ca, fresh
		}
	}
}

func (w *timeWindow) counts(now int64) counts {
	epoch := uint64(now/w.width) & epochMask
	var c counts
	for i := range timeBuckets {
		cw, sw := w.calls[i].Load(), w.slows[i].Load()
		if (epoch-cw>>epochShift)&epochMask < timeBuckets {
			c.calls += int64(cw >> countBits & countMask)
			c.failures += int64(cw & countMask)
		}
		if (epoch-sw>>epochShift)&epochMask < timeBuckets {
			c.slows += int64(sw >> countBits & countMask)
		}
	}
	return c
}
