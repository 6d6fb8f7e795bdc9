package pool

import (
	"context"
	"errors"
	"sync/atomic"
)

// Do runs fn on a worker with ctx and returns fn's error once fn returns.
// It waits for queue room like Submit (ctx.Err() or ErrClosed if that wait
// ends). If ctx ends while the task is still queued, Do returns ctx.Err()
// at once and the task is skipped; once fn runs, Do waits for it (fn sees
// ctx's cancellation; pair Do with an abandoning timeout if the caller must
// leave first). A panic in fn is re-panicked in Do's goroutine as a
// *PanicError holding the original value and the worker's stack.
//
// Do makes *Pool a watertight.Policy: a "thread-pool bulkhead".
func (p *Pool) Do(ctx context.Context, fn func(context.Context) error) error {
	if fn == nil {
		return errNilTask
	}
	if err := p.created(); err != nil {
		return err
	}
	c := p.calls.Get().(*doCall)
	c.fn = fn
	c.state.Store(queued)
	if err := p.send(ctx, task{job: c}, true); err != nil {
		c.fn = nil
		p.calls.Put(c)
		return err
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		if c.state.CompareAndSwap(queued, left) {
			return ctx.Err() // the worker will skip it; c is left to the GC
		}
		<-c.done // fn is running: wait for it
	}
	err, pe, goexit := c.err, c.panic, c.goexit
	c.fn, c.err, c.panic, c.goexit = nil, nil, nil, false
	p.calls.Put(c)
	switch {
	case pe != nil:
		pe.repanic()
	case goexit:
		return errGoexit
	}
	return err
}

// Who owns a doCall's outcome: the worker claims a queued call before it
// runs it; Do claims it when it leaves before that.
const (
	queued int32 = iota
	claimed
	left
)

// doCall is Do's record of one task, reused through Pool.calls.
type doCall struct {
	fn     func(context.Context) error
	state  atomic.Int32
	done   chan struct{} // buffered: the worker never blocks on it
	err    error
	panic  *PanicError
	goexit bool
}

func (c *doCall) claim() bool { return c.state.CompareAndSwap(queued, claimed) }

func (c *doCall) run(ctx context.Context) { c.err = c.fn(ctx) }

// finish is called only after a successful claim, so Do is waiting.
func (c *doCall) finish(err error, p *PanicError, goexit bool) {
	if err != nil {
		c.err = err
	}
	c.panic, c.goexit = p, goexit
	c.done <- struct{}{}
}

// Future is the result of a task started with Go.
type Future[T any] struct {
	done   chan struct{} // closed when the result is set
	value  T
	err    error
	panic  *PanicError
	goexit bool
	fn     func(context.Context) (T, error)
}

// Go runs fn on a worker with ctx, like Do, but returns at once with a
// Future for its result. It waits for queue room like Submit and returns
// ctx.Err() or ErrClosed if that wait ends. If ctx ends while the task is
// queued, the task is skipped and the Future's error is ctx.Err().
func Go[T any](ctx context.Context, p *Pool, fn func(context.Context) (T, error)) (*Future[T], error) {
	switch {
	case fn == nil:
		return nil, errNilTask
	case p == nil:
		return nil, errNilPool
	}
	f := &Future[T]{done: make(chan struct{}), fn: fn}
	if err := p.send(ctx, task{job: f}, true); err != nil {
		return nil, err
	}
	return f, nil
}

// Wait returns the task's value and error once it has finished, or ctx's
// error if ctx ends first; the task goes on and a later Wait still gets its
// result. If the task panicked, every Wait re-panics with a *PanicError
// holding the original value and the worker's stack (http.ErrAbortHandler
// goes up as it is). A zero Future, not returned by Go, has no task: Wait
// returns an error.
func (f *Future[T]) Wait(ctx context.Context) (T, error) {
	if f.done == nil {
		var zero T
		return zero, errors.New("pool: Future not returned by Go")
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	switch {
	case f.panic != nil:
		f.panic.repanic()
	case f.goexit:
		var zero T
		return zero, errGoexit
	}
	return f.value, f.err
}

// Done returns a channel closed when the task has finished, for use in a
// select.
func (f *Future[T]) Done() <-chan struct{} { return f.done }

func (f *Future[T]) claim() bool { return true }

func (f *Future[T]) run(ctx context.Context) { f.value, f.err = f.fn(ctx) }

func (f *Future[T]) finish(err error, p *PanicError, goexit bool) {
	if err != nil {
		f.err = err
	}
	f.panic, f.goexit = p, goexit
	f.fn = nil
	close(f.done)
}
