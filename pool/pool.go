package pool

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/orphan"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/internal/rejection"
	"github.com/watertight-go/watertight/internal/withindo"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/poolwait"
)

// Do waits for its task, and a task whose caller left is never run.
func init() { withindo.Register[Pool](nil) }

// Pool is a fixed set of workers fed by a bounded queue. Create it with
// New and stop it with Close; it is safe for concurrent use. A zero Pool
// has no workers: every method that would give it work, and Close, return
// an error saying it was not created with New.
type Pool struct {
	// Set by New, read-only after.
	name        string
	onPanic     func(PanicEvent)
	onFailure   func(FailureEvent)
	policy      watertight.Policy // nil: none
	taskTimeout time.Duration     // 0: none
	full        error             // errFull, named
	closedErr   error             // errClosed, named
	queue       *ring             // the queue; empty and unused when QueueSize is 0 or with CoDel
	codel       *codelQueue       // the queue with CoDel; nil otherwise
	shedErr     error             // errShed, named
	handoff     chan task         // QueueSize 0 only: unbuffered, straight to a free worker; closed by Close
	wake        chan struct{}     // a token per wake-up of an idle worker; closed by Close
	room        chan struct{}     // a token per wake-up of a sender waiting for room
	closing     chan struct{}     // closed by Close: wakes senders waiting for room
	exited      chan struct{}     // closed by the last worker to exit
	slots       []workerSlot      // one per worker: its busy flag and its histograms
	calls       sync.Pool         // *doCall records for Do

	// Written by submitters. Senders hold mu.RLock while they queue, so
	// that Close, by taking mu.Lock once closed is set, knows nobody can
	// queue any more.
	_                             cacheLinePad
	mu                            sync.RWMutex
	closed                        atomic.Bool
	submitted, rejected, canceled atomic.Uint64

	// Read on every task by the other side, written only when someone
	// starts or stops waiting: each on a line of its own, so that reading
	// them is a cache hit while nobody waits.
	_              cacheLinePad
	waitingForRoom atomic.Int64 // senders waiting for room
	_              cacheLinePad
	idle           atomic.Int64 // workers waiting for a task

	// Written by workers.
	_                 cacheLinePad
	alive             atomic.Int64 // workers running
	expired, panicked atomic.Uint64
	shed              atomic.Uint64
	failed, timedOut  atomic.Uint64
	closeOnce         sync.Once
	_                 cacheLinePad
	histograms        []histograms // shared by the workers, a few each
}

// histograms records the queue waits and run times of some of the
// workers. Workers on different cores would make one histogram's counters
// the most contended lines of the pool; split among up to
// histogramShards, they seldom meet, and Stats adds them up.
type histograms struct {
	wait, run poolwait.Recorder
	_         cacheLinePad
}

// histogramShards bounds the memory the histograms take: about 3.4 kB
// each.
const histogramShards = 8

// cacheLinePad keeps fields that submitters write off the cache lines that
// workers write, and the other way round.
type cacheLinePad [64]byte

// workerSlot is a worker's own cache line: setting busy costs the worker no
// contention with the others, and Stats adds them up.
type workerSlot struct {
	busy atomic.Bool
	hist *histograms // where the worker records its tasks
	_    [64 - 16]byte
}

// task is one unit of work in the queue, held by value so that a Submit
// allocates nothing.
type task struct {
	ctx context.Context
	fn  func(context.Context) // Submit and TrySubmit tasks
	job job                   // Do, Go and Group tasks, which someone waits for, and SubmitErr's (a fallible)
	enq int64                 // when it was queued (monotime), for the wait histogram
}

// job is a task whose result someone waits for.
type job interface {
	// claim is called before the task runs; false means the waiter left
	// and the task must be skipped.
	claim() bool
	// run calls the task's fn and keeps its result.
	run(ctx context.Context)
	// finish hands the result (or err, or the panic p) to the waiter.
	finish(err error, p *PanicError, goexit bool)
}

// New starts a Pool configured by cfg, or returns an error naming the first
// invalid field.
func New(cfg Config) (*Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Pool{
		name:        cfg.Name,
		onPanic:     cfg.OnPanic,
		onFailure:   cfg.OnFailure,
		policy:      cfg.Policy,
		taskTimeout: cfg.TaskTimeout,
		full:        rejection.Name(errFull, cfg.Name),
		closedErr:   rejection.Name(errClosed, cfg.Name),
		wake:        make(chan struct{}, cfg.Workers),
		room:        make(chan struct{}, 1),
		closing:     make(chan struct{}),
		exited:      make(chan struct{}),
		slots:       make([]workerSlot, cfg.Workers),
		queue:       newRing(cfg.QueueSize),
		shedErr:     rejection.Name(errShed, cfg.Name),
	}
	if cfg.Queue == CoDel {
		p.queue = newRing(0)
		p.codel = newCoDelQueue(cfg.QueueSize, cfg.CoDelTarget, cfg.CoDelInterval, p.shedTask)
	}
	if cfg.QueueSize == 0 {
		p.handoff = make(chan task)
	}
	if p.onPanic == nil {
		p.onPanic = logPanic
	}
	if p.onFailure == nil {
		p.onFailure = logFailure
	}
	p.calls.New = func() any { return &doCall{done: make(chan struct{}, 1)} }
	p.histograms = make([]histograms, min(cfg.Workers, histogramShards))
	p.alive.Store(int64(cfg.Workers))
	for i := range p.slots {
		p.slots[i].hist = &p.histograms[i%len(p.histograms)]
		go p.worker(&p.slots[i])
	}
	return p, nil
}

// MustNew is like New but panics if cfg is invalid.
func MustNew(cfg Config) *Pool {
	p, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return p
}

// Name returns Config.Name.
func (p *Pool) Name() string {
	if p == nil {
		return ""
	}
	return p.name
}

// Submit queues task to run on a worker with ctx, waiting for queue room
// until ctx is done (ctx.Err()) or the pool is closed (ErrClosed). It does
// not wait for task to run. A task whose ctx ends while it is queued is
// skipped. A task's panic is recovered and reported to Config.OnPanic.
func (p *Pool) Submit(ctx context.Context, task func(context.Context)) error {
	if task == nil {
		return errNilTask
	}
	return p.send(ctx, taskOf(task), true)
}

// TrySubmit queues task like Submit if there is room now, and returns
// ErrFull otherwise, without waiting.
func (p *Pool) TrySubmit(ctx context.Context, task func(context.Context)) error {
	if task == nil {
		return errNilTask
	}
	return p.send(ctx, taskOf(task), false)
}

// created reports a Pool that New did not make: it has no workers, and
// every call that would give it work returns this error.
func (p *Pool) created() error {
	if p == nil {
		return errNilPool
	}
	if p.queue == nil {
		return errNotCreated
	}
	return nil
}

// taskOf is a Submit task; send fills in its ctx and queue time.
func taskOf(fn func(context.Context)) task { return task{fn: fn} }

// send queues t with ctx, waiting for room if wait is set.
func (p *Pool) send(ctx context.Context, t task, wait bool) error {
	if err := p.created(); err != nil {
		return err
	}
	if ctx == nil {
		return errNilCtx
	}
	if err := ctx.Err(); err != nil {
		p.canceled.Add(1)
		return err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed.Load() {
		p.rejected.Add(1)
		p.refused(ctx, "closed")
		return p.closedErr
	}
	t.ctx, t.enq = ctx, monotime.Now()
	if p.handoff != nil {
		return p.handOff(ctx, t, wait)
	}
	if p.pushTask(t) {
		p.accepted()
		return nil
	}
	if !wait {
		p.rejected.Add(1)
		p.refused(ctx, "full")
		return p.full
	}
	return p.waitForRoom(ctx, t)
}

// refused records a refusal in ctx's ledger, if it has one.
func (p *Pool) refused(ctx context.Context, outcome string) {
	if now := record.Now(ctx); now != 0 {
		record.Span(ctx, p.name, ledger.Refused, now, now, outcome)
	}
}

// accepted counts a task just queued and wakes a worker for it if any is
// idle. The idle count is read after the push and raised by a worker
// before it looks at the queue a last time, so one of the two always sees
// the other: a task is never left queued while every worker sleeps.
func (p *Pool) accepted() {
	p.submitted.Add(1)
	if p.idle.Load() > 0 {
		select {
		case p.wake <- struct{}{}:
		default: // every idle worker has a token already
		}
	}
}

// waitForRoom queues t once the queue has room, or returns ErrClosed or
// ctx's error if the pool closes or ctx ends first. Workers wake a waiting
// sender through room as they take tasks; the sender then tries again,
// and passes the wake-up on if room is left for a sender after it.
func (p *Pool) waitForRoom(ctx context.Context, t task) error {
	p.waitingForRoom.Add(1)
	defer p.waitingForRoom.Add(-1)
	for !p.pushTask(t) {
		select {
		case <-p.room:
		case <-p.closing:
			p.rejected.Add(1)
			return p.closedErr
		case <-ctx.Done():
			p.canceled.Add(1)
			return ctx.Err()
		}
	}
	p.accepted()
	if p.waitingForRoom.Load() > 1 && p.queueLen() < p.queueCap() {
		p.signalRoom()
	}
	return nil
}

// signalRoom wakes a sender waiting for room, if it is not awake already.
func (p *Pool) signalRoom() {
	select {
	case p.room <- struct{}{}:
	default:
	}
}

// handOff gives t straight to a free worker (QueueSize 0), waiting for one
// if wait is set.
func (p *Pool) handOff(ctx context.Context, t task, wait bool) error {
	select {
	case p.handoff <- t:
		p.submitted.Add(1)
		return nil
	default:
	}
	if !wait {
		p.rejected.Add(1)
		p.refused(ctx, "full")
		return p.full
	}
	select {
	case p.handoff <- t:
		p.submitted.Add(1)
		return nil
	case <-p.closing:
		p.rejected.Add(1)
		return p.closedErr
	case <-ctx.Done():
		p.canceled.Add(1)
		return ctx.Err()
	}
}

// Close stops the pool taking work: new work gets ErrClosed, and so do
// callers waiting for queue room. Tasks already queued or running finish.
// Close returns nil once every worker has exited, or ctx.Err() if ctx ends
// first; the workers then still finish the queue and exit in the
// background. Calling Close again waits the same way and returns nil once
// the pool has drained.
func (p *Pool) Close(ctx context.Context) error {
	if err := p.created(); err != nil {
		return err
	}
	if ctx == nil {
		return errNilCtx
	}
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		close(p.closing) // release senders waiting for room
		p.mu.Lock()      // wait out senders that got in before closed was set
		// Nobody can queue or send a wake-up now: workers drain the queue
		// and exit.
		if p.handoff != nil {
			close(p.handoff)
		} else {
			close(p.wake)
		}
		p.mu.Unlock()
	})
	select {
	case <-p.exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take returns the next task, waiting for one; ok is false once the pool
// is closed and its queue drained. parked reports whether the worker had
// to wait, in which case the caller must read the clock afresh.
func (p *Pool) take() (t task, parked, ok bool) {
	if p.handoff != nil {
		t, ok = <-p.handoff
		return t, true, ok
	}
	if t, ok = p.popTask(); ok {
		p.tookTask()
		return t, false, true
	}
	for {
		p.idle.Add(1)
		// Look once more after counting itself idle: a sender that queued
		// before that saw no idle worker and sent no wake-up.
		t, ok = p.popTask()
		if !ok {
			_, open := <-p.wake
			t, ok = p.popTask()
			if !ok && !open { // closed, and the queue is drained
				p.idle.Add(-1)
				return task{}, true, false
			}
		}
		p.idle.Add(-1)
		if ok {
			p.tookTask()
			return t, true, true
		}
		// Woken for a task another worker took first: wait again.
	}
}

// tookTask wakes a sender waiting for the room the worker just made.
func (p *Pool) tookTask() {
	if p.waitingForRoom.Load() > 0 {
		p.signalRoom()
	}
}

// minLedgerWait is the shortest queue wait a task records in its ctx's
// ledger: every task passes through the queue, and a hand-over to a free
// worker is no wait worth a line, nor the ctx.Value it costs to look.
const minLedgerWait = 100 * time.Microsecond

// worker runs tasks until the queue is closed and drained.
func (p *Pool) worker(slot *workerSlot) {
	for !p.runTasks(slot) {
		// A task panicked; runTasks recovered and reported it. Go on.
	}
	if p.alive.Add(-1) == 0 {
		if p.codel != nil {
			p.codel.stop() // drained: nothing left to shed
		}
		close(p.exited)
	}
}

// runTasks runs tasks from the queue until the pool is closed and the
// queue drained (closed is true), or until a task panics: its deferred handler then
// recovers, reports, and returns false. One defer per run of tasks, not
// per task, keeps the common path short.
//
// Under load it reads the clock once per task: the end of one task is the
// start of the next one that was already waiting.
func (p *Pool) runTasks(slot *workerSlot) (closed bool) {
	var (
		t       task
		start   int64
		running bool               // t is running: a panic now is t's
		cancel  context.CancelFunc // TaskTimeout's, while t runs under it
	)
	defer func() {
		if running {
			slot.busy.Store(false)
			slot.hist.run.Observe(time.Duration(monotime.Now() - start))
			if cancel != nil {
				cancel()
			}
			p.taskPanicked(slot, t, recover())
		}
	}()
	var now int64 // 0: must read the clock when the next task arrives
	for {
		var parked, ok bool
		t, parked, ok = p.take()
		if !ok {
			return true
		}
		if parked || now == 0 {
			now = monotime.Now()
		}
		start = now
		slot.hist.wait.Observe(time.Duration(start - t.enq))
		if start-t.enq >= int64(minLedgerWait) {
			record.Span(t.ctx, p.name, ledger.Wait, t.enq, start, "")
		}
		if !p.admit(t, start) {
			continue // skipped: the clock was read, now is still good
		}
		ctx := t.ctx
		if p.taskTimeout > 0 {
			ctx, cancel = context.WithTimeoutCause(ctx, p.taskTimeout, errTaskTimeout)
		}
		slot.busy.Store(true)
		running = true
		var err error
		attempts := 1
		fn, canFail := t.job.(fallible)
		switch {
		case canFail:
			attempts, err = p.runFallible(ctx, fn)
		case t.job != nil:
			t.job.run(ctx)
		default:
			t.fn(ctx)
		}
		running = false
		slot.busy.Store(false)
		now = monotime.Now()
		slot.hist.run.Observe(time.Duration(now - start))
		timedOut := false
		if cancel != nil {
			timedOut = context.Cause(ctx) == errTaskTimeout
			if timedOut {
				p.timedOut.Add(1)
			}
			cancel()
			cancel = nil
		}
		if canFail {
			if err != nil {
				p.failed.Add(1)
				p.reportFailure(FailureEvent{Err: err, Attempts: attempts, Waited: time.Duration(start - t.enq), Ran: time.Duration(now - start), TimedOut: timedOut})
			}
		} else if t.job != nil {
			t.job.finish(nil, nil, false)
		}
		t = task{} // do not keep the task's ctx and func alive while idle
	}
}

// admit decides whether a task taken from the queue at now runs: not if
// its waiter left or its ctx ended while it was queued (it expired). A
// task that can fail and expired is reported: it never ran.
func (p *Pool) admit(t task, now int64) bool {
	if t.job != nil && !t.job.claim() {
		p.expired.Add(1) // its waiter left
		return false
	}
	if err := t.ctx.Err(); err != nil {
		p.expired.Add(1)
		if _, canFail := t.job.(fallible); canFail {
			p.reportFailure(FailureEvent{Err: err, Waited: time.Duration(now - t.enq)})
		} else if t.job != nil {
			t.job.finish(err, nil, false)
		}
		return false
	}
	return true
}

// taskPanicked counts and reports a task that panicked with value, or
// called runtime.Goexit (value nil: recover has nothing to return).
func (p *Pool) taskPanicked(slot *workerSlot, t task, value any) {
	p.panicked.Add(1)
	goexit := value == nil
	stack := debug.Stack()
	if goexit {
		// The runtime ends this goroutine after its deferred calls: a new
		// worker takes its place.
		go p.worker(slot)
	}
	if _, canFail := t.job.(fallible); t.job != nil && !canFail {
		var pe *PanicError
		if !goexit {
			pe = &PanicError{Name: p.name, Value: value, Stack: stack}
		}
		t.job.finish(nil, pe, goexit)
		return
	}
	// The worker has no caller to panic to: a panic in OnPanic is logged,
	// and the worker goes on.
	orphan.Call("pool: OnPanic", p.name, p.onPanic, PanicEvent{Name: p.name, Value: value, Stack: stack, Goexit: goexit})
}
