package pool

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/rejection"
	"github.com/watertight-go/watertight/poolwait"
)

// Pool is a fixed set of workers fed by a bounded queue. Create it with
// New and stop it with Close; it is safe for concurrent use.
type Pool struct {
	// Set by New, read-only after.
	name      string
	onPanic   func(PanicEvent)
	full      error         // errFull, named
	closedErr error         // errClosed, named
	tasks     chan task     // never sent on after Close took mu; closed by Close
	closing   chan struct{} // closed by Close: wakes senders waiting for room
	exited    chan struct{} // closed by the last worker to exit
	slots     []workerSlot  // one per worker, for Stats.Busy
	calls     sync.Pool     // *doCall records for Do

	// Written by submitters. Senders hold mu.RLock while they send, so
	// that Close, by taking mu.Lock once closed is set, knows nobody can
	// send any more and may close tasks.
	_                             cacheLinePad
	mu                            sync.RWMutex
	closed                        atomic.Bool
	submitted, rejected, canceled atomic.Uint64

	// Written by workers.
	_                 cacheLinePad
	alive             atomic.Int64 // workers running
	expired, panicked atomic.Uint64
	closeOnce         sync.Once
	_                 cacheLinePad
	wait, run         poolwait.Recorder
}

// cacheLinePad keeps fields that submitters write off the cache lines that
// workers write, and the other way round.
type cacheLinePad [64]byte

// workerSlot is a worker's own cache line: setting busy costs the worker no
// contention with the others, and Stats adds them up.
type workerSlot struct {
	busy atomic.Bool
	_    [63]byte
}

// task is one unit of work in the queue, sent by value so that a Submit
// allocates nothing.
type task struct {
	ctx context.Context
	fn  func(context.Context) // Submit, TrySubmit and Group tasks
	job job                   // Do and Go tasks, which someone waits for
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
		name:      cfg.Name,
		onPanic:   cfg.OnPanic,
		full:      rejection.Name(errFull, cfg.Name),
		closedErr: rejection.Name(errClosed, cfg.Name),
		tasks:     make(chan task, cfg.QueueSize),
		closing:   make(chan struct{}),
		exited:    make(chan struct{}),
		slots:     make([]workerSlot, cfg.Workers),
	}
	if p.onPanic == nil {
		p.onPanic = logPanic
	}
	p.calls.New = func() any { return &doCall{done: make(chan struct{}, 1)} }
	p.alive.Store(int64(cfg.Workers))
	for i := range p.slots {
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
func (p *Pool) Name() string { return p.name }

// Submit queues task to run on a worker with ctx, waiting for queue room
// until ctx is done (ctx.Err()) or the pool is closed (ErrClosed). It does
// not wait for task to run. A task whose ctx ends while it is queued is
// skipped. A task's panic is recovered and reported to Config.OnPanic.
func (p *Pool) Submit(ctx context.Context, task func(context.Context)) error {
	if task == nil {
		return errNilTask
	}
	return p.send(ctx, task, nil, true)
}

// TrySubmit queues task like Submit if there is room now, and returns
// ErrFull otherwise, without waiting.
func (p *Pool) TrySubmit(ctx context.Context, task func(context.Context)) error {
	if task == nil {
		return errNilTask
	}
	return p.send(ctx, task, nil, false)
}

// send queues one task, waiting for room if wait is set.
func (p *Pool) send(ctx context.Context, fn func(context.Context), j job, wait bool) error {
	if err := ctx.Err(); err != nil {
		p.canceled.Add(1)
		return err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed.Load() {
		p.rejected.Add(1)
		return p.closedErr
	}
	t := task{ctx: ctx, fn: fn, job: j, enq: monotime.Now()}
	select {
	case p.tasks <- t:
		p.submitted.Add(1)
		return nil
	default:
	}
	if !wait {
		p.rejected.Add(1)
		return p.full
	}
	select {
	case p.tasks <- t:
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
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		close(p.closing) // release senders waiting for room
		p.mu.Lock()      // wait out senders that got in before closed was set
		close(p.tasks)   // nobody can send now; workers drain the queue
		p.mu.Unlock()
	})
	select {
	case <-p.exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// worker runs tasks until the queue is closed and drained.
func (p *Pool) worker(slot *workerSlot) {
	for !p.runTasks(slot) {
		// A task panicked; runTasks recovered and reported it. Go on.
	}
	if p.alive.Add(-1) == 0 {
		close(p.exited)
	}
}

// runTasks runs tasks from the queue until it is closed and drained
// (closed is true), or until a task panics: its deferred handler then
// recovers, reports, and returns false. One defer per run of tasks, not
// per task, keeps the common path short.
//
// Under load it reads the clock once per task: the end of one task is the
// start of the next one that was already waiting.
func (p *Pool) runTasks(slot *workerSlot) (closed bool) {
	var (
		t       task
		start   int64
		running bool // t is running: a panic now is t's
	)
	defer func() {
		if running {
			slot.busy.Store(false)
			p.run.Observe(time.Duration(monotime.Now() - start))
			p.taskPanicked(slot, t, recover())
		}
	}()
	var now int64 // 0: must read the clock when the next task arrives
	for {
		var ok bool
		select {
		case t, ok = <-p.tasks:
		default:
			now = 0
			t, ok = <-p.tasks
		}
		if !ok {
			return true
		}
		if now == 0 {
			now = monotime.Now()
		}
		start = now
		p.wait.Observe(time.Duration(start - t.enq))
		if !p.admit(t) {
			continue // skipped: the clock was read, now is still good
		}
		slot.busy.Store(true)
		running = true
		if t.job != nil {
			t.job.run(t.ctx)
		} else {
			t.fn(t.ctx)
		}
		running = false
		slot.busy.Store(false)
		now = monotime.Now()
		p.run.Observe(time.Duration(now - start))
		if t.job != nil {
			t.job.finish(nil, nil, false)
		}
		t = task{} // do not keep the task's ctx and func alive while idle
	}
}

// admit decides whether a task taken from the queue runs: not if its
// waiter left or its ctx ended while it was queued (it expired).
func (p *Pool) admit(t task) bool {
	if t.job != nil && !t.job.claim() {
		p.expired.Add(1) // its waiter left
		return false
	}
	if err := t.ctx.Err(); err != nil {
		p.expired.Add(1)
		if t.job != nil {
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
	if t.job != nil {
		var pe *PanicError
		if !goexit {
			pe = &PanicError{Name: p.name, Value: value, Stack: stack}
		}
		t.job.finish(nil, pe, goexit)
		return
	}
	p.onPanic(PanicEvent{Name: p.name, Value: value, Stack: stack, Goexit: goexit})
}
