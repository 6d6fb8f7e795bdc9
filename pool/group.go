package pool

import (
	"context"
	"errors"
	"sync"
)

// Group runs a set of tasks on a Pool and waits for them all, like
// golang.org/x/sync/errgroup, but the tasks run on the pool's workers: Go
// waits for queue room instead of starting a goroutine, so a fan-out of any
// size holds at most Workers goroutines and QueueSize queued tasks.
//
// The first task to return an error (or a failed Go) cancels the context
// that NewGroup returned; Wait returns that first error. A task's panic is
// re-panicked by Wait, as a *PanicError, after all tasks have finished.
//
// errgroup itself does not fit underneath: its Go starts a goroutine for
// every task, which is the pile-up a pool exists to prevent.
type Group struct {
	pool   *Pool
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	err   error       // the first error
	panic *PanicError // the first panic, kept even after an error
}

// NewGroup returns a Group whose tasks run on p, and the context they get:
// derived from ctx and cancelled when the first task fails or Wait returns.
//
// A nil p is reported by the Group: every Go fails and Wait returns the
// error. A zero Group, not made by NewGroup, likewise fails every Go.
func NewGroup(ctx context.Context, p *Pool) (*Group, context.Context) {
	gctx, cancel := context.WithCancelCause(ctx)
	return &Group{pool: p, ctx: gctx, cancel: cancel}, gctx
}

// Go queues fn on the pool, waiting for room. If it cannot be queued (the
// group's context is done, or the pool closed), that error becomes the
// group's error (if it is the first) and fn does not run.
func (g *Group) Go(fn func(context.Context) error) {
	switch {
	case fn == nil:
		g.fail(errNilTask, nil)
		return
	case g.cancel == nil:
		g.fail(errors.New("pool: Group not created with NewGroup"), nil)
		return
	case g.pool == nil:
		g.fail(errNilPool, nil)
		return
	}
	g.wg.Add(1)
	if err := g.pool.send(g.ctx, task{job: &groupTask{g: g, fn: fn}}, true); err != nil {
		g.wg.Done()
		g.fail(err, nil)
	}
}

// Wait waits for every task queued with Go to finish (tasks skipped
// because the group's context ended count as finished), cancels the
// group's context, and returns the first error. If a task panicked, Wait
// re-panics with its *PanicError instead.
func (g *Group) Wait() error {
	g.wg.Wait()
	if g.cancel != nil {
		g.cancel(context.Canceled)
	}
	g.mu.Lock()
	err, pe := g.err, g.panic
	g.mu.Unlock()
	if pe != nil {
		pe.repanic()
	}
	return err
}

// fail records the first error and the first panic, and cancels the
// group's context with the first of them.
func (g *Group) fail(err error, p *PanicError) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	if g.panic == nil {
		g.panic = p
	}
	g.mu.Unlock()
	switch {
	case g.cancel == nil: // a zero Group: no context to cancel
	case p != nil:
		g.cancel(p)
	default:
		g.cancel(err)
	}
}

// groupTask is one of a Group's tasks on the pool.
type groupTask struct {
	g   *Group
	fn  func(context.Context) error
	err error
}

func (t *groupTask) claim() bool { return true }

func (t *groupTask) run(ctx context.Context) { t.err = t.fn(ctx) }

func (t *groupTask) finish(err error, p *PanicError, goexit bool) {
	defer t.g.wg.Done()
	switch {
	case p != nil:
		t.g.fail(nil, p)
	case goexit:
		t.g.fail(errGoexit, nil)
	case err != nil: // skipped: the group's context ended while queued
		t.g.fail(err, nil)
	case t.err != nil:
		t.g.fail(t.err, nil)
	}
}
