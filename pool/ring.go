package pool

import (
	"sync/atomic"
	"unsafe"
)

// ring is the pool's queue: a bounded multi-producer, multi-consumer FIFO
// that takes no lock (Dmitry Vyukov's bounded queue). A sender and a
// worker each claim a position with one compare-and-swap on a counter of
// their own, and hand the task over through the slot's state word, so the
// two sides share only the slot they meet at. A queue behind a mutex or a
// channel's lock makes both sides take the same lock twice per task,
// which on a busy pool costs more than everything else a task does.
//
// A position is a lap and an index, packed as lap<<32 | index, so moving
// to the next one needs no division for a size that is not a power of
// two. A slot's state is a lap and a full bit: empty for lap L means a
// sender at position (L, i) may fill it; full for L means a worker at
// (L, i) may take it, after which it waits, empty, for lap L+1. Laps wrap
// around; they are compared by their difference.
type ring struct {
	slots []ringSlot
	_     cacheLinePad
	tail  atomic.Uint64 // the next position to fill
	_     cacheLinePad
	head  atomic.Uint64 // the next position to take
	_     cacheLinePad
}

// ringSlot is padded to a cache line so that a sender filling one slot
// and a worker emptying the one before do not share a line.
type ringSlot struct {
	state atomic.Uint64 // lap<<1 | 1 if it holds that lap's task
	t     task
	_     [64 - 8 - unsafe.Sizeof(task{})]byte
}

func newRing(size int) *ring {
	return &ring{slots: make([]ringSlot, size)} // every slot empty, for lap 0
}

// next returns the position after pos.
func (r *ring) next(pos uint64) uint64 {
	if uint32(pos)+1 == uint32(len(r.slots)) {
		return (pos>>32 + 1) << 32 // index 0 of the next lap
	}
	return pos + 1
}

// at returns the slot of pos, its state's lap and full bit, and pos's lap.
func (r *ring) at(pos uint64) (s *ringSlot, lap, posLap uint32, full bool) {
	s = &r.slots[uint32(pos)]
	state := s.state.Load()
	return s, uint32(state >> 1), uint32(pos >> 32), state&1 == 1
}

// push adds t, or returns false if the ring is full.
func (r *ring) push(t task) bool {
	for {
		pos := r.tail.Load()
		s, lap, want, full := r.at(pos)
		switch {
		case lap == want && !full:
			if r.tail.CompareAndSwap(pos, r.next(pos)) {
				s.t = t
				s.state.Store(uint64(want)<<1 | 1)
				return true
			}
		case int32(lap-want) < 0:
			return false // the slot still holds (or is being given) the lap before's task
		}
		// Another sender took pos: try the next one.
	}
}

// pop removes the oldest task, or returns false if there is none.
func (r *ring) pop() (task, bool) {
	for {
		pos := r.head.Load()
		s, lap, want, full := r.at(pos)
		switch {
		case lap == want && full:
			if r.head.CompareAndSwap(pos, r.next(pos)) {
				t := s.t
				s.t = task{} // the ring does not keep what it gave away
				s.state.Store(uint64(want+1) << 1)
				return t, true
			}
		case int32(lap-want) <= 0:
			return task{}, false // not filled yet
		}
		// Another worker took pos: try the next one.
	}
}

// len returns how many tasks are queued, give or take the pushes and pops
// under way.
func (r *ring) len() int {
	head, tail := r.head.Load(), r.tail.Load()
	n := len(r.slots)
	d := int(int32(uint32(tail>>32)-uint32(head>>32)))*n + int(uint32(tail)) - int(uint32(head))
	return max(0, min(d, n))
}
