package bulkhead

import "github.com/watertight-go/watertight/internal/codel"

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

// shedLocked refuses, in a standing queue, every waiter that has waited
// longer than the target — the oldest first, which a newest-first queue
// would serve last — and reports whether the queue stands. b.mu must be
// held.
func (b *Bulkhead) shedLocked(now int64) bool {
	c := b.codel
	if b.queue.head == nil || !c.Standing(true, now) {
		return false
	}
	for w := b.queue.head; w != nil && c.Late(w.since, now); w = b.queue.head {
		b.queue.remove(w)
		b.state.Add(^uint64(oneWaiting - 1)) // one fewer waiting
		w.shed = true
		w.ready <- struct{}{}
		b.shed.Add(1)
	}
	if b.queue.head == nil {
		c.Left(false, now)
		return false
	}
	return true
}
