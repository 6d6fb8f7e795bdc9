package retry

import (
	"errors"
	"strconv"

	"github.com/watertight-go/watertight/internal/errchain"
)

// Reason says why Do stopped retrying a retryable error.
type Reason int

const (
	// ReasonAttempts: MaxAttempts were made, or the BackOff said stop.
	ReasonAttempts Reason = iota + 1
	// ReasonBudget: the budget refused the retry.
	ReasonBudget
	// ReasonDeadline: the wait before the retry would end past the ctx's
	// deadline, or the ctx ended during the wait.
	ReasonDeadline
	// ReasonRetryAfter: the dependency asked for a wait (a Retry-After, a
	// pushback, an open breaker's time left) longer than MaxDelay or than
	// the time left before the ctx's deadline. Retrying sooner than it
	// asked would only be refused again.
	ReasonRetryAfter
)

// The sentinels of the reasons: an *Error matches (errors.Is) the one of
// its Reason.
var (
	ErrAttempts = errors.New("retry: attempts exhausted")
	ErrBudget   = errors.New("retry: retry budget exhausted")
	ErrDeadline = errors.New("retry: no time left for another attempt")
	// ErrRetryAfter is ReasonRetryAfter's sentinel.
	ErrRetryAfter = errors.New("retry: the dependency asked for a longer wait than the retry may make")

	errNilFunc    = errors.New("retry: Do called with a nil fn")
	errNilCtx     = errors.New("retry: Do called with a nil ctx")
	errNilRetry   = errors.New("retry: Do called on a nil *Retry")
	errNotCreated = errors.New("retry: Retry not created with New")
)

// String returns "attempts", "budget", "deadline" or "retry_after".
func (r Reason) String() string {
	switch r {
	case ReasonAttempts:
		return "attempts"
	case ReasonBudget:
		return "budget"
	case ReasonDeadline:
		return "deadline"
	case ReasonRetryAfter:
		return "retry_after"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

func (r Reason) sentinel() error {
	switch r {
	case ReasonBudget:
		return ErrBudget
	case ReasonDeadline:
		return ErrDeadline
	case ReasonRetryAfter:
		return ErrRetryAfter
	}
	return ErrAttempts
}

// Error is what Do returns when a retryable error was not retried to
// success: the last attempt's error, how many attempts were made, and why
// Do stopped. errors.Is finds both the last error (so that
// timeout.ErrExceeded still matches through it) and the Reason's
// sentinel. The dependency was called, so an Error does not match
// watertight.ErrRejected (unless the last error itself does).
type Error struct {
	Name     string // Config.Name
	Attempts int    // attempts made, the first included
	Reason   Reason
	Err      error // the last attempt's error
}

// Error is the last error's message, with the attempts and the reason.
func (e *Error) Error() string {
	who := "retry"
	if e.Name != "" {
		who += " " + strconv.Quote(e.Name)
	}
	attempts := strconv.Itoa(e.Attempts) + " attempts"
	if e.Attempts == 1 {
		attempts = "1 attempt"
	}
	return e.Err.Error() + " (" + who + ": " + attempts + ", gave up: " + e.Reason.sentinel().Error()[len("retry: "):] + ")"
}

// Unwrap returns the last attempt's error and the Reason's sentinel.
func (e *Error) Unwrap() []error { return []error{e.Err, e.Reason.sentinel()} }

// Permanent marks err as not worth retrying, whatever IsRetryable says: Do
// returns err itself at once. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// IsPermanent reports whether err is, or wraps, an error marked Permanent.
// Do returns a Permanent error unwrapped (err itself), so outside a Do the
// mark is gone: code that must tell, around a policy that may hold a
// retry (contrib/river cancels a job whose error is permanent), looks
// inside the fn it gives the policy.
func IsPermanent(err error) bool { return errchain.Find(err, isPermanent) != nil }

type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// unpermanent reports whether err is, or wraps, a Permanent error, and
// returns what Do gives the caller: the error inside, if err is the
// Permanent itself, or err as it is if something wrapped it since.
func unpermanent(err error) (error, bool) {
	if p, ok := err.(*permanent); ok {
		return p.err, true
	}
	return err, errchain.Find(err, isPermanent) != nil
}

func isPermanent(err error) bool { _, ok := err.(*permanent); return ok }
