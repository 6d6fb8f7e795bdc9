package pool

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/internal/codel"
	"github.com/watertight-go/watertight/internal/monotime"
)

// QueueDiscipline is how a pool's queued tasks are served.
type QueueDiscipline int

const (
	// FIFO serves tasks first in, first out, on a lock-free ring. The
	// zero value.
	FIFO QueueDiscipline = iota
	// CoDel is "Fail at Scale"'s controlled delay with adaptive LIFO:
	// while the queue keeps emptying, tasks are served first in, first
	// out, and a task may wait up to CoDelInterval; once it has not been
	// empty for CoDelInterval (it stands), newest first, and a task that
	// has waited more than CoDelTarget when a worker takes the next one is
	// shed, never run.
	CoDel
)

// Defaults: the paper's.
const (
	DefaultCoDelTarget   = codel.DefaultTarget
	DefaultCoDelInterval = codel.DefaultInterval
)

// String returns "FIFO", "CoDel", or the number.
func (q QueueDiscipline) String() string { return codel.Name(int(q)) }

// codelQueue is a CoDel pool's queue: a deque under a mutex. A ring cannot
// serve newest first, and the lock is held only to push or take one task.
type codelQueue struct {
	target, interval int64

	mu            sync.Mutex
	buf           []task // a ring buffer of QueueSize
	head, n       int
	nonEmptySince int64 // monotime: when the queue last went from empty to not
	standing      atomic.Bool
}

func newCoDelQueue(size int, target, interval time.Duration) *codelQueue {
	t, i := codel.Settings(target, interval)
	return &codelQueue{target: int64(t), interval: int64(i), buf: make([]task, size)}
}

func (q *codelQueue) push(t task) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == len(q.buf) {
		return false
	}
	if q.n == 0 {
		q.nonEmptySince = t.enq
	}
	q.buf[(q.head+q.n)%len(q.buf)] = t
	q.n++
	return true
}

// pop takes the next task at now: the newest in a standing queue, the
// oldest otherwise. shed reports that t is one CoDel refuses instead (the
// oldest, past the target in a standing queue): the caller sheds it and
// asks again.
func (q *codelQueue) pop(now int64) (t task, ok, shed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		q.standing.Store(false)
		return task{}, false, false
	}
	standing := now-q.nonEmptySince >= q.interval
	q.standing.Store(standing)
	i := q.head
	switch {
	case standing && now-q.buf[q.head].enq > q.target:
		shed = true // the oldest, past the target
	case standing:
		i = (q.head + q.n - 1) % len(q.buf) // the newest
	}
	t = q.buf[i]
	q.buf[i] = task{} // do not keep its ctx and func alive
	if i == q.head {
		q.head = (q.head + 1) % len(q.buf)
	}
	q.n--
	return t, true, shed
}

func (q *codelQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// pushTask queues t on the pool's queue, reporting false if it is full.
func (p *Pool) pushTask(t task) bool {
	if p.codel != nil {
		return p.codel.push(t)
	}
	return p.queue.push(t)
}

// popTask takes the next task to run, shedding on the way the ones a CoDel
// queue refuses.
func (p *Pool) popTask() (task, bool) {
	if p.codel == nil {
		return p.queue.pop()
	}
	for {
		t, ok, shed := p.codel.pop(monotime.Now())
		if !shed {
			return t, ok
		}
		p.shedTask(t)
	}
}

// shedTask refuses a task CoDel shed: it never runs, and a Do, Future or
// Group waiter gets an error matching watertight.ErrRejected at once.
func (p *Pool) shedTask(t task) {
	if t.job != nil && !t.job.claim() {
		p.expired.Add(1) // its waiter left before: expired, as a skipped task
		return
	}
	p.shed.Add(1)
	if t.job != nil {
		t.job.finish(p.shedErr, nil, false)
	}
}

// queueLen and queueCap are the queue's length and room, whichever it is.
func (p *Pool) queueLen() int {
	if p.codel != nil {
		return p.codel.len()
	}
	return p.queue.len()
}

func (p *Pool) queueCap() int {
	if p.codel != nil {
		return len(p.codel.buf)
	}
	return len(p.queue.slots)
}
