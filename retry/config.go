package retry

import (
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/internal/durations"
	"github.com/watertight-go/watertight/internal/owned"
	"github.com/watertight-go/watertight/internal/typednil"
)

// Defaults, and why.
const (
	// DefaultMaxAttempts is the SRE book's figure: three attempts in all.
	// More multiplies the load on a dependency that is failing, for little
	// more chance of success.
	DefaultMaxAttempts = 3
	// MaxAttemptsLimit bounds MaxAttempts: past ten, retries are a loop
	// that waits for a dependency to come back, which is a breaker's job.
	MaxAttemptsLimit = 10
	// DefaultMaxDelay caps every wait between attempts, whatever the
	// backoff or a Retry-After hint says: a caller waiting longer than
	// this for one retry is better off failing.
	DefaultMaxDelay = 10 * time.Second
	// DefaultInitialDelay, DefaultMultiplier and DefaultMaxBackoff shape
	// the default backoff: exponential from 50 ms, doubling, to 5 s, with
	// full jitter (each wait is uniform in [0, that]), so that callers
	// that failed together do not come back together.
	DefaultInitialDelay = 50 * time.Millisecond
	DefaultMultiplier   = 2
	DefaultMaxBackoff   = 5 * time.Second
)

// Config configures a Retry. The zero value is valid: three attempts, the
// default backoff, a budget of the Retry's own.
type Config struct {
	// Name identifies the retry in errors, Attempt events and metrics.
	// Empty: errors say just "retry".
	Name string

	// MaxAttempts is how many attempts a call makes in all, the first
	// included: 1 makes none again. At most 10. Zero: 3.
	MaxAttempts int

	// Backoff makes the BackOff for one call: a BackOff is not safe for
	// concurrent use, so each call that retries gets a new one, made when
	// its first retry is due. Its NextBackOff gives each wait;
	// backoff.Stop ends the retries (ReasonAttempts). New calls it once to
	// check that it returns one. Nil: exponential from 50 ms, ×2, to 5 s,
	// with full jitter.
	Backoff func() backoff.BackOff

	// MaxDelay caps each wait between attempts, whatever Backoff or a
	// Retry-After hint says. Zero: 10 s.
	MaxDelay time.Duration

	// Budget limits retries to a share of the requests to the dependency;
	// share one between every Retry (and hedge.Hedge) that calls it. Nil:
	// a budget of this Retry's own, with budget's defaults (20% of the
	// calls plus 10 retries a second, over 10 s).
	Budget *budget.Budget

	// IsRetryable decides which errors are worth another attempt; it
	// replaces the default rules about errors (see the package doc). A
	// Permanent error, the caller's own done ctx and a panic stop the
	// retries whatever it says. Nil: the default rules.
	IsRetryable func(error) bool

	// OnRetry is called once a retry is decided, before its wait, from the
	// caller's goroutine. Nil: nothing is called. LogRetries makes one
	// that logs.
	OnRetry func(Attempt)
}

// Attempt describes a retry about to be made, for Config.OnRetry.
type Attempt struct {
	Name    string        // Config.Name
	Attempt int           // which retry this is: 1 for the first
	Err     error         // the error of the attempt that failed
	Delay   time.Duration // the wait before the retry
}

// sameEachCall reports whether newBackoff returns one BackOff, shared by
// every call, rather than a new one each time.
func sameEachCall(newBackoff func() backoff.BackOff) bool {
	a, b := newBackoff(), newBackoff()
	return owned.Shareable(a) && a == b
}

func (c Config) settings() (Config, error) {
	if err := durations.Check("retry", "Config.MaxDelay", c.MaxDelay); err != nil {
		return c, err
	}
	switch {
	case c.MaxAttempts < 0 || c.MaxAttempts > MaxAttemptsLimit:
		return c, fmt.Errorf("retry: Config.MaxAttempts must be in 0..%d (0: %d), got %d", MaxAttemptsLimit, DefaultMaxAttempts, c.MaxAttempts)
	case c.Backoff != nil && typednil.Is(c.Backoff()):
		return c, fmt.Errorf("retry: Config.Backoff returned a nil backoff.BackOff; it must return a new one each call")
	case c.Backoff != nil && sameEachCall(c.Backoff):
		return c, fmt.Errorf("retry: Config.Backoff returned the same backoff.BackOff twice; it must return a new one each call (one is not safe for concurrent use)")
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.Backoff == nil {
		c.Backoff = defaultBackoff
	}
	if c.Budget == nil {
		c.Budget = budget.MustNew(budget.Config{Name: c.Name})
	}
	return c, nil
}
