package bulkhead

import "time"

// waiter is one caller queued for a slot. A record is made for each wait
// and never reused: its channel and timer belong to the goroutine's
// testing/synctest bubble, if it has one, and a record recycled into
// another bubble (a package-level bulkhead shared by two tests) would
// crash the process. A wait already parks a goroutine; the record's two or
// three small allocations cost less than that.
type waiter struct {
	ready      chan struct{} // a slot was handed over; buffered, sent under Bulkhead.mu
	timer      *time.Timer   // MaxWait; nil until first needed
	prev, next *waiter
	queued     bool // in the queue; guarded by Bulkhead.mu
}

// waitQueue is a FIFO of waiters with O(1) removal of a waiter that gives
// up. Guarded by Bulkhead.mu.
type waitQueue struct {
	head, tail *waiter
}

func (q *waitQueue) pushBack(w *waiter) {
	w.queued = true
	w.prev, w.next = q.tail, nil
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
}

func (q *waitQueue) popFront() *waiter {
	w := q.head
	q.remove(w)
	return w
}

func (q *waitQueue) remove(w *waiter) {
	if w.prev == nil {
		q.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		q.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
}

func newWaiter() *waiter { return &waiter{ready: make(chan struct{}, 1)} }

// startTimer arms w's timer for d and returns its channel.
func (w *waiter) startTimer(d time.Duration) <-chan time.Time {
	w.timer = time.NewTimer(d)
	return w.timer.C
}

// stopTimer disarms w's timer, if it has one.
func (w *waiter) stopTimer() {
	if w.timer != nil {
		w.timer.Stop()
	}
}
