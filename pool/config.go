package pool

import (
	"fmt"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/codel"
	"github.com/watertight-go/watertight/internal/durations"
	"github.com/watertight-go/watertight/internal/typednil"
)

// Config configures a Pool. The zero value is not valid: Workers is
// required.
type Config struct {
	// Name identifies the pool in errors, panic reports and metrics.
	// Empty: errors are the bare sentinels.
	Name string

	// Workers is how many tasks run at once, on that many goroutines
	// started by New. Required, 1 to MaxWorkers. Size it to what the dependency the
	// tasks call can serve.
	Workers int

	// QueueSize is how many tasks may wait for a worker, at most
	// MaxQueueSize; the queue takes 64 bytes per task of room, allocated
	// by New. Zero: none; a task is handed over only to a worker that is
	// free at that moment (Submit waits for one, TrySubmit fails with
	// ErrFull).
	QueueSize int

	// Queue is how queued tasks are served: FIFO (the zero value), or
	// CoDel, which serves newest first and sheds the tasks older than
	// CoDelTarget once the queue stands (see the package doc). CoDel needs
	// a QueueSize.
	Queue QueueDiscipline

	// CoDelTarget is the longest a task may have waited, when a worker
	// takes the next one from a standing CoDel queue, and still run.
	// Zero: 5 ms. Only with Queue CoDel.
	CoDelTarget time.Duration

	// CoDelInterval is how long a CoDel queue must go without emptying
	// before it stands. Zero: 100 ms. Only with Queue CoDel; more than
	// CoDelTarget.
	CoDelInterval time.Duration

	// OnPanic receives the panics of fire-and-forget tasks (Submit,
	// TrySubmit, SubmitErr, TrySubmitErr), which have no caller to
	// re-panic in, from the worker's goroutine. The worker lives on. A
	// panic in OnPanic is logged and goes no further. Nil: slog.Error with
	// the value and the stack. Panics in Do, Go and Group tasks are
	// re-panicked in the waiting goroutine instead and do not come here.
	OnPanic func(PanicEvent)

	// OnFailure receives the fire-and-forget tasks that can fail
	// (SubmitErr, TrySubmitErr) and failed: that returned an error after
	// Policy gave up on them, or never ran (see FailureEvent), from the
	// worker's goroutine. A panic in OnFailure is logged and goes no
	// further; the worker lives on. Nil: slog.Error with the pool's name,
	// the error, the attempts, and how long the task waited and ran. Do,
	// Go and Group tasks return their errors to their callers instead.
	OnFailure func(FailureEvent)

	// TaskTimeout, if set, bounds every task: its ctx gets that deadline
	// (its cause, context.Cause, is ErrTaskTimeout), and a task still
	// running at it is counted in Stats.TimedOut. A task that ignores its
	// ctx holds its worker past the deadline all the same: the timeout
	// cancels, it cannot stop. Zero: none. Negative, or under 1 ms (a bare
	// number is nanoseconds), is an error.
	TaskTimeout time.Duration

	// Policy, if set, runs every fire-and-forget task that can fail
	// (SubmitErr, TrySubmitErr) on its worker: a retry retries it within
	// its budget, a breaker refuses it while open, a timeout bounds it.
	// Only a task the policy gave up on — its last error, or the policy's
	// refusal — is a failure (OnFailure). The worker is held through the
	// retries and their backoffs. Do, Go and Group return their errors to
	// their callers, who put policies around the call instead
	// (watertight.Chain(retry, pool)), so Policy does not run them. Nil:
	// none. A typed nil is an error.
	Policy watertight.Policy
}

// MaxWorkers is the largest Config.Workers: each worker is a goroutine
// that New starts, and a pool of more than sixteen thousand bounds
// nothing a dependency can serve.
const MaxWorkers = 1 << 14

// MaxQueueSize is the largest Config.QueueSize: 16 million tasks, a
// gigabyte of queue. A queue anywhere near it turns overload into hours of
// latency; see the package doc on sizing.
const MaxQueueSize = 1 << 24

func (c Config) validate() error {
	switch {
	case c.Workers <= 0 || c.Workers > MaxWorkers:
		return fmt.Errorf("pool: Config.Workers must be in 1..%d, got %d", MaxWorkers, c.Workers)
	case c.QueueSize < 0 || c.QueueSize > MaxQueueSize:
		return fmt.Errorf("pool: Config.QueueSize must be between 0 and %d, got %d", MaxQueueSize, c.QueueSize)
	case c.Queue != FIFO && c.Queue != CoDel:
		return fmt.Errorf("pool: Config.Queue must be FIFO or CoDel, got %v", c.Queue)
	case c.Queue == CoDel && c.QueueSize == 0:
		return fmt.Errorf("pool: Config.Queue is CoDel but QueueSize is 0: no task can wait; set QueueSize")
	}
	if err := codel.Check("pool", c.Queue == CoDel, c.Queue.String(), c.CoDelTarget, c.CoDelInterval); err != nil {
		return err
	}
	if err := durations.Check("pool", "Config.TaskTimeout", c.TaskTimeout); err != nil {
		return err
	}
	if c.Policy != nil && typednil.Is(c.Policy) {
		return fmt.Errorf("pool: Config.Policy is %s", typednil.Describe(c.Policy))
	}
	return nil
}

// PanicEvent reports a fire-and-forget task that panicked, or called
// runtime.Goexit.
type PanicEvent struct {
	Name   string // Config.Name
	Value  any    // what the task panicked with; nil for Goexit
	Stack  []byte // the worker's stack at the panic
	Goexit bool   // the task called runtime.Goexit (t.FailNow, for one)
}
