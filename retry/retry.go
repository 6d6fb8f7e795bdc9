package retry

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/internal/stripe"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/internal/withindo"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/poolwait"
)

// Every attempt runs on the caller's goroutine, within Do.
func init() { withindo.Register[Retry](nil) }

// Retry runs a call again when it fails with a retryable error, within a
// budget, a number of attempts and the caller's deadline. Create it with
// New; it is safe for concurrent use and starts no goroutine. A zero
// Retry's Do returns an error saying it was not created with New.
type Retry struct {
	name        string
	maxAttempts int
	maxDelay    time.Duration
	newBackoff  func() backoff.BackOff
	budget      *budget.Budget
	isRetryable func(error) bool
	onRetry     func(Attempt)

	calls                                        stripe.Counter
	retries, recovered                           atomic.Uint64
	gaveUpAttempts, gaveUpBudget, gaveUpDeadline atomic.Uint64
	gaveUpRetryAfter                             atomic.Uint64
	waited                                       poolwait.Recorder
}

// New returns a Retry configured by cfg, or an error naming the first
// invalid field.
func New(cfg Config) (*Retry, error) {
	c, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	return &Retry{
		name:        c.Name,
		maxAttempts: c.MaxAttempts,
		maxDelay:    c.MaxDelay,
		newBackoff:  c.Backoff,
		budget:      c.Budget,
		isRetryable: c.IsRetryable,
		onRetry:     c.OnRetry,
	}, nil
}

// MustNew is like New but panics if cfg is invalid.
func MustNew(cfg Config) *Retry {
	r, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return r
}

// Name returns Config.Name.
func (r *Retry) Name() string {
	if r == nil {
		return ""
	}
	return r.name
}

// Budget returns the budget the Retry withdraws from: Config.Budget, or
// its own.
func (r *Retry) Budget() *budget.Budget {
	if r == nil {
		return nil
	}
	return r.budget
}

// Do runs fn, and runs it again while it fails with a retryable error, as
// the package doc says. It returns nil on the first success; an error
// that is not retryable unchanged (a Permanent one unwrapped), the
// caller's own cancellation or deadline during an attempt unchanged, and
// otherwise an *Error with the last attempt's error. A panic in fn is not
// retried: it goes on up the caller's stack.
func (r *Retry) Do(ctx context.Context, fn func(context.Context) error) error {
	switch {
	case r == nil:
		return errNilRetry
	case fn == nil:
		return errNilFunc
	case ctx == nil:
		return errNilCtx
	case r.budget == nil:
		return errNotCreated
	}
	r.budget.Deposit()
	r.calls.Add(stripe.Hint())
	err := fn(ctx)
	if err == nil {
		return nil
	}
	return r.again(ctx, fn, err)
}

// again is Do once the first attempt failed with err.
func (r *Retry) again(ctx context.Context, fn func(context.Context) error, err error) error {
	var bo backoff.BackOff // made when the first backoff wait is due
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for attempts := 1; ; attempts++ {
		if out, stop := r.stops(ctx, err); stop {
			return out
		}
		if attempts >= r.maxAttempts {
			return r.giveUp(ReasonAttempts, attempts, err)
		}
		delay, hinted := watertight.RetryAfter(err)
		switch {
		case hinted && delay < 0:
			return err // the server said not to retry (gRPC's negative pushback)
		case hinted && (delay > r.maxDelay || !timeLeftFor(ctx, delay)):
			// It asked for longer than we may wait: an attempt sooner than
			// it asked would only be refused again.
			return r.giveUp(ReasonRetryAfter, attempts, err)
		case hinted:
			delay = hintDelay(delay)
		default:
			if bo == nil {
				if bo = r.newBackoff(); typednil.Is(bo) {
					return r.giveUp(ReasonAttempts, attempts, err) // New checked it once; it may change its mind
				}
			}
			if delay = bo.NextBackOff(); delay == backoff.Stop {
				return r.giveUp(ReasonAttempts, attempts, err)
			}
		}
		delay = max(0, min(delay, r.maxDelay))
		if !timeLeftFor(ctx, delay) {
			return r.giveUp(ReasonDeadline, attempts, err) // the wait would end past it: not even started
		}
		if !r.budget.TryWithdraw() {
			return r.giveUp(ReasonBudget, attempts, err)
		}
		if r.onRetry != nil {
			r.onRetry(Attempt{Name: r.name, Attempt: attempts, Err: err, Delay: delay})
		}
		if delay > 0 {
			start := time.Now()
			if timer == nil {
				timer = time.NewTimer(delay)
			} else {
				timer.Reset(delay)
			}
			select {
			case <-timer.C:
				end := time.Now()
				r.waited.Observe(end.Sub(start))
				ledger.Span(ctx, r.name, ledger.Backoff, start, end, "")
			case <-ctx.Done():
				end := time.Now()
				r.waited.Observe(end.Sub(start))
				ledger.Span(ctx, r.name, ledger.Backoff, start, end, "canceled")
				return r.giveUp(ReasonDeadline, attempts, err)
			}
		} else {
			r.waited.Observe(0)
		}
		r.retries.Add(1) // counted as it starts: a wait the ctx ended made no attempt
		if err = r.attempt(ctx, fn); err == nil {
			r.recovered.Add(1)
			return nil
		}
	}
}

// attempt runs fn for an attempt after the first, and records it in the
// ctx's ledger, if there is one, with its outcome.
func (r *Retry) attempt(ctx context.Context, fn func(context.Context) error) error {
	if ledger.From(ctx) == nil {
		return fn(ctx)
	}
	start := time.Now()
	err := fn(ctx)
	ledger.Span(ctx, r.name, ledger.Attempt, start, time.Now(), record.Outcome(err))
	return err
}

// timeLeftFor reports whether a wait of d ends before ctx's deadline.
func timeLeftFor(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d
}

// stops reports whether err ends the call without a retry, and what Do
// returns then.
func (r *Retry) stops(ctx context.Context, err error) (error, bool) {
	if ctx.Err() != nil {
		return err, true // the caller left or its deadline passed: nothing more for it
	}
	if inner, ok := unpermanent(err); ok {
		return inner, true
	}
	if r.isRetryable != nil {
		return err, !r.isRetryable(err)
	}
	return err, !Retryable(err)
}

// Retryable reports whether the default rules about errors retry err:
// everything but nil, a refusal by a policy inside (a breaker that is open,
// a bulkhead that is full: "not now", which another attempt would only add
// load to) and a Permanent error. The caller's done ctx also stops a
// retry; Retryable does not see it. hedge.Hedge uses the same rules.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, watertight.ErrRejected) {
		return false
	}
	_, permanent := unpermanent(err)
	return !permanent
}

func (r *Retry) giveUp(reason Reason, attempts int, err error) error {
	switch reason {
	case ReasonAttempts:
		r.gaveUpAttempts.Add(1)
	case ReasonBudget:
		r.gaveUpBudget.Add(1)
	case ReasonDeadline:
		r.gaveUpDeadline.Add(1)
	case ReasonRetryAfter:
		r.gaveUpRetryAfter.Add(1)
	}
	return &Error{Name: r.name, Attempts: attempts, Reason: reason, Err: err}
}
