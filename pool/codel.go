package pool

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/internal/codel"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/ledger"
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
//
// Tasks are shed when a worker takes the next one, and also by a timer
// when no worker does (every worker stuck on a hung dependency): it is
// armed for the oldest task's limit — the moment the queue will stand, or
// its target once it stands — and sheds every task past its limit.
type codelQueue struct {
	shed func(task) // the pool's: counts a shed task and tells its waiter

	mu       sync.Mutex
	state    *codel.State
	buf      []task // a ring buffer of QueueSize
	head, n  int
	standing atomic.Bool
	timer    *time.Timer // fires expire; made at the first push
	armed    bool        // the timer is set to fire
}

func newCoDelQueue(size int, target, interval time.Duration, shed func(task)) *codelQueue {
	return &codelQueue{state: codel.NewState(target, interval), buf: make([]task, size), shed: shed}
}

func (q *codelQueue) push(t task) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == len(q.buf) {
		return false
	}
	wait := q.state.Joined(q.n == 0, t.enq)
	q.buf[(q.head+q.n)%len(q.buf)] = t
	q.n++
	if !q.armed {
		q.arm(wait) // the oldest's limit: this task's, if the queue was empty
	}
	return true
}

// arm sets the timer to fire after d. q.mu must be held.
func (q *codelQueue) arm(d time.Duration) {
	q.armed = true
	if q.timer == nil {
		q.timer = time.AfterFunc(d, q.expire)
	} else {
		q.timer.Reset(d)
	}
}

// expire is the timer's func: it sheds the tasks past their limit, oldest
// first, and arms the timer for the next oldest.
func (q *codelQueue) expire() {
	var shed []task
	q.mu.Lock()
	q.armed = false
	now := monotime.Now()
	for q.n > 0 && now >= q.state.Limit(q.buf[q.head].enq) {
		shed = append(shed, q.takeLocked(q.head))
	}
	if q.n == 0 {
		if len(shed) > 0 {
			q.state.Left(false, now)
		}
	} else {
		q.arm(time.Duration(q.state.Limit(q.buf[q.head].enq) - now)) // the oldest left
	}
	q.standing.Store(q.state.Standing(q.n > 0, now))
	q.mu.Unlock()
	for _, t := range shed {
		q.shed(t) // outside the lock: a waiter is told
	}
}

// takeLocked removes and returns the task at ring index i (the head or the
// tail). q.mu must be held.
func (q *codelQueue) takeLocked(i int) task {
	t := q.buf[i]
	q.buf[i] = task{} // do not keep its ctx and func alive
	if i == q.head {
		q.head = (q.head + 1) % len(q.buf)
	}
	q.n--
	return t
}

// pop takes the next task at now: the newest in a standing queue, the
// oldest otherwise. shed reports that t is one CoDel refuses instead (the
// oldest, past the target in a standing queue): the caller sheds it and
// asks again.
func (q *codelQueue) pop(now int64) (t task, ok, shed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		q.standing.Store(q.state.Standing(false, now))
		return task{}, false, false
	}
	standing := q.state.Standing(true, now)
	q.standing.Store(standing)
	i := q.head
	switch {
	case standing && q.state.Late(q.buf[q.head].enq, now):
		shed = true // the oldest, past the target
	case standing:
		i = (q.head + q.n - 1) % len(q.buf) // the newest
	}
	t = q.takeLocked(i)
	if q.n == 0 {
		q.state.Left(!shed, now)
	}
	return t, true, shed
}

func (q *codelQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// stop disarms the timer, for Close once the queue is drained.
func (q *codelQueue) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.timer != nil {
		q.timer.Stop()
	}
	q.armed = false
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
	record.Span(t.ctx, p.name, ledger.Refused, t.enq, 0, "shed")
	if _, canFail := t.job.(fallible); canFail {
		p.reportFailure(FailureEvent{Err: p.shedErr, Waited: time.Duration(monotime.Now() - t.enq)})
	} else if t.job != nil {
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
