package bulkhead

import (
	"sync"
	"time"
)

// waiter is one caller queued for a slot. Records are reused through a
// per-bulkhead sync.Pool, so a wait allocates nothing once warm; the pool is
// per bulkhead so that a record (its channel and timer) never crosses from
// one bulkhead, or testing/synctest bubble, to another.
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

// waiterPool recycles waiter records.
type waiterPool struct{ p sync.Pool }

func (p *waiterPool) get() *waiter {
	if w, ok := p.p.Get().(*waiter); ok {
		return w
	}
	return &waiter{ready: make(chan struct{}, 1)}
}

// put recycles w, which must hold no pending signal and no running timer.
func (p *waiterPool) put(w *waiter) { p.p.Put(w) }

// startTimer arms w's timer for d and returns its channel.
func (w *waiter) startTimer(d time.Duration) <-chan time.Time {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	return w.timer.C
}

// stopTimer disarms w's timer, if it has one, and drops a tick it may have
// left behind (only possible with GODEBUG=asynctimerchan=1).
func (w *waiter) stopTimer() {
	if w.timer != nil && !w.timer.Stop() {
		select {
		case <-w.timer.C:
		default:
		}
	}
}
