package pool

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/internal/orphan"
)

// SubmitErr queues a task that can fail, like Submit: it waits for queue
// room until ctx is done or the pool is closed, and does not wait for the
// task to run. The task runs under Config.Policy, if set (a retry retries
// it, a breaker may refuse it), and with Config.TaskTimeout's deadline, if
// set. If it returns an error in the end — or never runs, because its ctx
// ended while it was queued or a CoDel queue shed it — Config.OnFailure
// hears of it: a background task never fails silently.
//
// Give it a ctx that outlives the request that submits it
// (context.WithoutCancel(r.Context()) keeps the request's values, its
// ledger included, without its cancellation), or the task is cancelled
// with the request.
func (p *Pool) SubmitErr(ctx context.Context, task func(context.Context) error) error {
	if task == nil {
		return errNilTask
	}
	return p.send(ctx, fallibleTask(task), true)
}

// TrySubmitErr queues a task that can fail, like SubmitErr, if there is
// room now, and returns ErrFull otherwise, without waiting. A task that
// is refused here is the caller's to report: it was never accepted.
func (p *Pool) TrySubmitErr(ctx context.Context, task func(context.Context) error) error {
	if task == nil {
		return errNilTask
	}
	return p.send(ctx, fallibleTask(task), false)
}

// fallible is a fire-and-forget task that can fail. It is a job so that
// the queue's slot keeps one cache line (a func is one pointer: in the
// job interface it allocates nothing); no one waits for it, so its job
// methods are never more than this.
type fallible func(context.Context) error

func (fallible) claim() bool                     { return true }
func (f fallible) run(ctx context.Context)       { _ = f(ctx) } // runTasks calls runFallible instead
func (fallible) finish(error, *PanicError, bool) {}

// FailureEvent reports a fire-and-forget task (SubmitErr, TrySubmitErr)
// that failed: it returned an error after Config.Policy, if any, gave up on
// it (Attempts ≥ 1), or it never ran (Attempts 0: its ctx ended while it
// was queued, or a CoDel queue shed it).
type FailureEvent struct {
	Name     string        // Config.Name
	Err      error         // the task's last error, or why it never ran
	Attempts int           // how many times it ran: more than 1 under a retrying Policy
	Waited   time.Duration // how long it waited in the queue
	Ran      time.Duration // how long it ran, every attempt and backoff included
	TimedOut bool          // it was still running at Config.TaskTimeout
}

// ErrTaskTimeout is the cause (context.Cause) of a task's ctx that
// Config.TaskTimeout ended. It matches context.DeadlineExceeded.
var ErrTaskTimeout error = errTaskTimeout

var errTaskTimeout = fmt.Errorf("pool: the task ran past Config.TaskTimeout: %w", context.DeadlineExceeded)

// fallibleTask queues fn as a fallible job.
func fallibleTask(fn func(context.Context) error) task { return task{job: fallible(fn)} }

// runFallible runs a task that can fail, under the pool's Policy if it has
// one, and returns how many attempts it made and its last error.
func (p *Pool) runFallible(ctx context.Context, fn func(context.Context) error) (int, error) {
	if p.policy == nil {
		return 1, fn(ctx)
	}
	var attempts atomic.Int32 // a hedging policy runs attempts at once
	err := p.policy.Do(ctx, func(ctx context.Context) error {
		attempts.Add(1)
		return fn(ctx)
	})
	return int(attempts.Load()), err
}

// reportFailure hands e to OnFailure. A panic there is logged, and the
// worker goes on.
func (p *Pool) reportFailure(e FailureEvent) {
	e.Name = p.name
	orphan.Call("pool: OnFailure", p.name, p.onFailure, e)
}

// LogFailures returns an OnFailure func that logs to logger instead of
// slog's default logger, at Error, with the attributes name, err,
// attempts, waited, ran and timed_out.
func LogFailures(logger *slog.Logger) func(FailureEvent) {
	return func(e FailureEvent) { logFailureTo(logger, e) }
}

func logFailure(e FailureEvent) { logFailureTo(slog.Default(), e) }

func logFailureTo(logger *slog.Logger, e FailureEvent) {
	msg := "pool: task failed"
	if e.Attempts == 0 {
		msg = "pool: task never ran"
	}
	logger.LogAttrs(context.Background(), slog.LevelError, msg,
		slog.String("name", e.Name), slog.Any("err", e.Err), slog.Int("attempts", e.Attempts),
		slog.Duration("waited", e.Waited), slog.Duration("ran", e.Ran), slog.Bool("timed_out", e.TimedOut))
}
