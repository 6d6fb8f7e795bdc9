package bulkhead

import (
	"time"

	"github.com/watertight-go/watertight/internal/codel"
)

// QueueDiscipline is how a bulkhead's waiters are served.
type QueueDiscipline int

const (
	// FIFO serves waiters first in, first out; a waiter may wait up to
	// MaxWait. The zero value.
	FIFO QueueDiscipline = iota
	// CoDel is "Fail at Scale"'s controlled delay with adaptive LIFO: while
	// the queue keeps emptying it is served first in, first out, and a
	// waiter may wait up to CoDelInterval; once it has not been empty for
	// CoDelInterval (it stands), it is served newest first, and a waiter
	// that has waited more than CoDelTarget when a slot frees is refused.
	CoDel
)

// Defaults: the paper's.
const (
	DefaultCoDelTarget   = codel.DefaultTarget
	DefaultCoDelInterval = codel.DefaultInterval
)

// String returns "FIFO", "CoDel", or the number.
func (q QueueDiscipline) String() string { return codel.Name(int(q)) }

// codelState is a CoDel queue's state; guarded by Bulkhead.mu.
type codelState struct {
	target, interval time.Duration
	nonEmptySince    int64 // monotime: when the queue last went from empty to not
}

func newCoDel(cfg Config) *codelState {
	c := &codelState{}
	c.target, c.interval = codel.Settings(cfg.CoDelTarget, cfg.CoDelInterval)
	return c
}

// standing reports whether q has not been empty for an interval at now.
func (c *codelState) standing(q *waitQueue, now int64) bool {
	return q.head != nil && time.Duration(now-c.nonEmptySince) >= c.interval
}

// shedLocked refuses, in a standing queue, every waiter that has waited
// longer than the target — the oldest first, which a newest-first queue
// would serve last — and reports whether the queue stands. b.mu must be
// held.
func (b *Bulkhead) shedLocked(now int64) bool {
	c := b.codel
	if !c.standing(&b.queue, now) {
		return false
	}
	for w := b.queue.head; w != nil && time.Duration(now-w.since) > c.target; w = b.queue.head {
		b.queue.remove(w)
		b.state.Add(^uint64(oneWaiting - 1)) // one fewer waiting
		w.shed = true
		w.ready <- struct{}{}
		b.shed.Add(1)
	}
	return b.queue.head != nil
}
