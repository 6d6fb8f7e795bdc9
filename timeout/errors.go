package timeout

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"
)

// ErrExceeded is matched (errors.Is) by the error Do returns when its own
// deadline ended the call. It behaves like context.DeadlineExceeded:
// errors.Is(ErrExceeded, context.DeadlineExceeded) is true and it has
// Timeout() bool. Inside fn, context.Cause(ctx) is an error that matches
// ErrExceeded once our deadline has fired; it is a new value for each call,
// so nested timeouts can tell whose deadline fired.
var ErrExceeded error = &sentinel{"timeout: deadline exceeded"}

// ErrNoBudget is returned, without calling fn, when the caller's ctx has
// less than Config.MinRemaining left. It matches ErrExceeded and
// context.DeadlineExceeded: the request's budget is spent.
var ErrNoBudget error = &sentinel{"timeout: not enough time left to start the call"}

var (
	errNilFunc    = errors.New("timeout: Do called with a nil fn")
	errNilCtx     = errors.New("timeout: Do called with a nil ctx")
	errNotCreated = errors.New("timeout: Timeout not created with New")
	errNilTimeout = errors.New("timeout: Do called on a nil *Timeout")
)

type sentinel struct{ msg string }

func (e *sentinel) Error() string { return e.msg }

// Timeout reports true, like context.DeadlineExceeded.
func (e *sentinel) Timeout() bool { return true }

func (e *sentinel) Is(target error) bool {
	return target == context.DeadlineExceeded || target == ErrExceeded
}

// exceeded is the cause of one call's deadline, and the error Do returns
// when that deadline ended the call (then wrapping fn's error, if any).
type exceeded struct {
	name string
	d    time.Duration
	err  error // fn's error; nil in the cause set on the context
}

func (e *exceeded) Error() string {
	msg := "timeout"
	if e.name != "" {
		msg += " " + strconv.Quote(e.name)
	}
	msg += ": deadline of " + e.d.String() + " exceeded"
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg
}

// Is matches ErrExceeded and context.DeadlineExceeded.
func (e *exceeded) Is(target error) bool {
	return target == ErrExceeded || target == context.DeadlineExceeded
}

// Timeout reports true, like context.DeadlineExceeded.
func (e *exceeded) Timeout() bool { return true }

// Unwrap returns fn's error.
func (e *exceeded) Unwrap() error { return e.err }

// causes recycles the per-call causes that were never seen: a call whose
// deadline did not fire never exposes its cause, so the value can serve the
// next call, and the cooperative path allocates no more than
// context.WithDeadlineCause itself.
var causes = sync.Pool{New: func() any { return new(exceeded) }}

func newCause(name string, d time.Duration) *exceeded {
	c := causes.Get().(*exceeded)
	c.name, c.d, c.err = name, d, nil
	return c
}

// recycle returns c to the pool if its call's context was cancelled by us
// before its deadline: fn returned in time, and less than c.d had passed
// when we read the clock after cancelling. Then the timer never fired, so
// nobody has seen c.
func recycle(c *exceeded, inTime bool, elapsedAfterCancel time.Duration) {
	if inTime && elapsedAfterCancel < c.d {
		causes.Put(c)
	}
}
