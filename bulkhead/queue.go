package bulkhead

import (
	"sync"
	"time"

	"github.com/watertight-go/watertight/internal/monotime"
)

// waiter is one caller queued for a slot. Records are reused through a
// per-bulkhead sync.Pool, so a wait allocates nothing once warm — except
// inside a testing/synctest bubble: a record's channel and timer belong to
// the bubble they were made in, and one recycled into another bubble (a
// package-level bulkhead shared by two tests) would stop the process. A
// wait in a bubble makes its own record and never pools it.
type waiter struct {
	ready      chan struct{} // a slot was handed over; buffered, sent under Bulkhead.mu
	timer      *time.Timer   // MaxWait; nil until first needed
	prev, next *waiter
	queued     bool  // in the queue; guarded by Bulkhead.mu
	bubbled    bool  // made in a synctest bubble: never pooled
	since      int64 // monotime of when it joined the queue; guarded by Bulkhead.mu
	shed       bool  // CoDel shed it: what ready carries is a refusal, not a slot; guarded by Bulkhead.mu
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

func (q *waitQueue) popBack() *waiter {
	w := q.tail
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

// waiterPool recycles the waiter records made outside synctest bubbles.
type waiterPool struct{ p sync.Pool }

// get returns a record for a wait that starts at now (a monotime reading).
func (p *waiterPool) get(now int64) *waiter {
	if monotime.InBubble(now) {
		return &waiter{ready: make(chan struct{}, 1), bubbled: true}
	}
	if w, ok := p.p.Get().(*waiter); ok {
		w.shed = false
		return w
	}
	return &waiter{ready: make(chan struct{}, 1)}
}

// put recycles w, which must hold no pending signal and no running timer.
func (p *waiterPool) put(w *waiter) {
	if !w.bubbled {
		p.p.Put(w)
	}
}

// startTimer arms w's timer for d and returns its channel.
func (w *waiter) startTimer(d time.Duration) <-chan time.Time {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	return w.timer.C
}

// stopTimer disarms w's timer, if it has one. Since Go 1.23 a stopped
// timer's channel holds no stale tick, so the record can be reused.
func (w *waiter) stopTimer() {
	if w.timer != nil {
		w.timer.Stop()
	}
}
