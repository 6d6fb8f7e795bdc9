package timeout

import (
	"context"
	"errors"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/internal/orphan"
	"github.com/watertight-go/watertight/ledger"
)

// errGoexit is returned to a waiting caller when fn called runtime.Goexit in
// its own goroutine (t.FailNow in a test, for example).
var errGoexit = errors.New("timeout: fn called runtime.Goexit")

// Who gets an abandonable call's result: the caller, if fn finishes first;
// OnLate, if the caller left first.
const (
	running int32 = iota
	finished
	abandoned
)

// abandonable is one call run in its own goroutine so that the caller can
// leave at the deadline. The goroutine always ends when fn returns: its
// result goes to done (a buffer of one) or to OnLate, never to a blocked
// send.
type abandonable struct {
	t      *Timeout
	fn     func(context.Context) error
	tctx   context.Context
	cancel context.CancelFunc
	cause  *exceeded
	start  time.Time
	state  atomic.Int32
	done   chan struct{} // closed once the result fields are set and state is finished

	err      error
	panicked bool
	value    any
	stack    []byte
	goexit   bool
}

func (t *Timeout) runAbandonable(ctx, tctx context.Context, cancel context.CancelFunc, cause *exceeded, start time.Time, fn func(context.Context) error) error {
	a := &abandonable{t: t, fn: fn, tctx: tctx, cancel: cancel, cause: cause, start: start, done: make(chan struct{})}
	go a.run()
	select {
	case <-a.done:
		return a.collect(ctx)
	case <-tctx.Done():
	}
	c := t.stats
	if c != nil {
		c.abandoned.Add(1) // before fn's goroutine can see it abandoned and take it back
	}
	if !a.state.CompareAndSwap(running, abandoned) {
		if c != nil {
			c.abandoned.Add(-1)
		}
		<-a.done // fn finished at the same moment: its result is ours after all
		return a.collect(ctx)
	}
	if c != nil {
		c.duration.Observe(time.Since(start))
	}
	if context.Cause(tctx) == cause {
		if c != nil {
			c.exceeded.Add(1)
		}
		if ledger.From(ctx) != nil {
			ledger.Span(ctx, t.name, ledger.Expired, start, time.Now(), "abandoned")
		}
		return cause
	}
	if c != nil {
		c.canceled.Add(1)
	}
	return ctx.Err()
}

// collect returns the result of a call that finished before the caller
// left, re-panicking fn's panic in the caller's goroutine.
func (a *abandonable) collect(ctx context.Context) error {
	inTime := a.tctx.Err() == nil
	a.cancel()
	elapsed := time.Since(a.start)
	recycle(a.cause, inTime, elapsed)
	if c := a.t.stats; c != nil {
		c.duration.Observe(elapsed)
	}
	switch {
	case a.panicked:
		panic(a.value)
	case a.goexit:
		return errGoexit
	case inTime:
		return a.err
	}
	return a.t.ended(ctx, a.tctx, a.cause, a.start, a.err)
}

// run is the call's goroutine.
func (a *abandonable) run() {
	returned := false
	defer func() {
		if !returned {
			if a.value = recover(); a.value != nil {
				a.panicked = true
				a.stack = debug.Stack()
			} else {
				a.goexit = true // nothing to recover: runtime.Goexit
			}
		}
		if a.state.CompareAndSwap(running, finished) {
			close(a.done)
			return
		}
		a.late()
	}()
	a.err = a.fn(a.tctx)
	returned = true
}

// late reports the result of a call whose caller has left.
func (a *abandonable) late() {
	a.cancel()
	t := a.t
	l := Late{Name: t.name, Err: a.err, Panic: a.value, Stack: a.stack, Elapsed: time.Since(a.start), Goexit: a.goexit}
	if c := t.stats; c != nil {
		if a.panicked {
			c.latePanics.Add(1)
		}
		defer c.abandoned.Add(-1)
	}
	if t.onLate != nil {
		orphan.Call("timeout: OnLate", t.name, t.onLate, l) // no caller to panic to
	} else {
		logLatePanic(l)
	}
}
