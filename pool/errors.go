package pool

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/watertight-go/watertight/internal/rejection"
)

var (
	// ErrFull is returned by TrySubmit when no worker is free and the
	// queue is full. It matches watertight.ErrRejected.
	ErrFull error = errFull
	// ErrClosed is returned for work offered after Close was called, and
	// to callers waiting for queue room when Close is called. It matches
	// watertight.ErrRejected.
	ErrClosed error = errClosed
	// ErrShed is what a Do, Future or Group waiter gets for a task that a
	// CoDel queue shed: it waited past the target in a queue that stood,
	// and never ran. It matches watertight.ErrRejected.
	ErrShed error = errShed

	errFull       = rejection.New("pool", "full")
	errClosed     = rejection.New("pool", "closed")
	errShed       = rejection.New("pool", "shed by CoDel: queued too long")
	errNilTask    = errors.New("pool: nil task")
	errNilCtx     = errors.New("pool: called with a nil ctx")
	errNotCreated = errors.New("pool: Pool not created with New")
	errNilPool    = errors.New("pool: nil *Pool")

	// errGoexit is what a Do or Future caller gets when its task called
	// runtime.Goexit.
	errGoexit = errors.New("pool: task called runtime.Goexit")
)

// PanicError is the value Do and Future.Wait re-panic with when a task
// panicked on a worker: the original value, and the worker's stack, which
// the waiting goroutine's own stack would not show. Its Error method prints
// both, so an unrecovered re-panic shows where the task failed.
type PanicError struct {
	Name  string // Config.Name
	Value any    // what the task panicked with
	Stack []byte // the worker's stack at the panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("pool %q: task panicked: %v\n\nworker stack:\n%s", e.Name, e.Value, e.Stack)
}

// Unwrap returns Value if it is an error, so errors.Is and errors.As see
// through a recovered PanicError.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// repanic re-panics a task's panic in the goroutine that waits for it: as
// e, so that the worker's stack is not lost, except for
// http.ErrAbortHandler, which goes up unchanged: a handler that aborts its
// response on purpose must reach net/http as the sentinel it recognises
// (and does not log as a crash).
func (e *PanicError) repanic() {
	if e.Value == http.ErrAbortHandler {
		panic(http.ErrAbortHandler)
	}
	panic(e)
}
