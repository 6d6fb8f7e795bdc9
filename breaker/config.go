package breaker

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/watertight-go/watertight/internal/durations"
)

// Defaults, and why.
const (
	// DefaultWindow is the time window when neither WindowCalls nor Window
	// is set: long enough to smooth a burst, short enough to react within
	// seconds.
	DefaultWindow = 10 * time.Second
	// DefaultMinCalls keeps a handful of unlucky calls from opening the
	// circuit: one failure out of one call is not a failure rate.
	DefaultMinCalls = 20
	// DefaultFailureRate opens the circuit when half the calls fail.
	DefaultFailureRate = 0.5
	// DefaultSlowCallRate opens the circuit when half the calls are slower
	// than SlowCall, like DefaultFailureRate for failures. It used to be
	// 1.0 (as in resilience4j): then one fast call in the window — a cache
	// hit, a health check — kept the circuit closed through a brownout in
	// which every other call was slow, and a dependency that was "slow"
	// by the caller's own definition was never refused.
	DefaultSlowCallRate = 0.5
	// DefaultHalfOpenCalls is how many probes decide whether the
	// dependency is back: more than one, so one lucky call does not close
	// the circuit.
	DefaultHalfOpenCalls = 5
	// DefaultOpenMin and DefaultOpenMax bound the default open periods: an
	// exponential backoff from 5 s, ×1.5 after every failed half-open,
	// with up to 25% added at random, so that a fleet of clients does not
	// probe a recovering dependency in step. The jitter only lengthens:
	// no period is under DefaultOpenMin, each is longer than the one
	// before until the growth reaches 4 min, and from then on each is
	// between 4 and 5 min.
	DefaultOpenMin = 5 * time.Second
	DefaultOpenMax = 5 * time.Minute
)

// Largest accepted sizes.
const (
	// MaxWindowCalls bounds WindowCalls (and MinCalls): a count window
	// keeps 4 bytes per call, so the largest takes 4 MiB. A window that
	// long reacts to an outage after a million calls: use a time window.
	MaxWindowCalls = 1 << 20
	// MaxHalfOpenCalls bounds HalfOpenCalls: more probes than this is no
	// longer probing.
	MaxHalfOpenCalls = 10_000
)

// timeBuckets is how many buckets a time window is split into: calls leave
// the window a tenth of it at a time.
const timeBuckets = 10

// Config configures a Breaker. The zero value is valid: a time window of
// 10 s that trips at a 50% failure rate over at least 20 calls.
type Config struct {
	// Name identifies the breaker in errors, state changes and metrics.
	// Empty: errors are the bare sentinels.
	Name string

	// WindowCalls, if > 0, makes the window count-based: the last
	// WindowCalls calls, at most MaxWindowCalls. Zero: the window is
	// time-based (see Window).
	WindowCalls int

	// Window is the length of a time-based window, kept in 10 buckets:
	// calls leave it a tenth of Window at a time. Zero: 10 s, unless
	// WindowCalls is set; setting both is an error. Below 1 ms is an
	// error: such a window cannot hold a call (a bare 10 is 10 ns; write
	// 10 * time.Second).
	Window time.Duration

	// MinCalls is how many calls must be in the window before it may trip.
	// Zero: 20, or WindowCalls if that is smaller. More than WindowCalls
	// is an error: the window could never trip.
	MinCalls int

	// FailureRate trips the breaker when the share of failed calls in the
	// window reaches it; 0 < FailureRate <= 1. Zero: 0.5.
	FailureRate float64

	// SlowCall, if > 0, counts a call that takes at least this long as
	// slow, whether it failed or not. Zero: slow calls are not tracked,
	// and a count-based window never reads the clock.
	SlowCall time.Duration

	// SlowCallRate trips the breaker when the share of slow calls in the
	// window reaches it; 0 < SlowCallRate <= 1. Zero: 0.5 when SlowCall is
	// set (DefaultSlowCallRate). Setting it without SlowCall is an error.
	SlowCallRate float64

	// OpenBackoff gives the length of each open period: Reset and then
	// NextBackOff when the circuit opens from closed, NextBackOff again for
	// every open period after a failed half-open. backoff.Stop keeps the
	// longest period used so far (5 min if there is none). It is called
	// only under the breaker's lock; one given to two breakers is an error
	// (a BackOff is not safe for concurrent use). Nil: exponential from
	// 5 s, ×1.5, with up to 25% more at random, to 5 min, never stopping
	// (see DefaultOpenMin).
	OpenBackoff backoff.BackOff

	// HalfOpenCalls is how many probes a half-open breaker lets through
	// before it decides, at most MaxHalfOpenCalls. Zero: 5.
	HalfOpenCalls int

	// HalfOpenTimeout bounds the wait for the probes, from the first one
	// admitted: probes that have not reported by then no longer hold their
	// slots, and the breaker opens again. Zero: the length of the open
	// period before it.
	HalfOpenTimeout time.Duration

	// IsIgnored reports errors that say nothing about the dependency and
	// count neither way; it replaces the default rules. Nil: errors
	// matching watertight.ErrRejected (an inner policy refused) and
	// context.Canceled while the caller's ctx is canceled (in Allow's
	// done, which has no ctx: any context.Canceled).
	IsIgnored func(error) bool

	// IsFailure decides, for errors that are not ignored, whether the call
	// failed. Nil: every such error is a failure, deadline expiries
	// included.
	IsFailure func(error) bool

	// OnStateChange is called after every transition, outside the
	// breaker's lock and in the order the transitions happened; it may
	// call State, Stats and Reset. Nil: nothing is called.
	OnStateChange func(StateChange)
}

// settings is a validated Config with its defaults applied.
type settings struct {
	Config
	window        int64 // time window in ns; 0 for a count window
	bucket        int64 // bucket width in ns
	minCalls      int64
	halfOpenCalls int64
}

func (c Config) settings() (settings, error) {
	s := settings{Config: c}
	bad := func(field string, v any, rule string) (settings, error) {
		return settings{}, fmt.Errorf("breaker: Config.%s must be %s, got %v", field, rule, v)
	}
	if err := durations.First(
		durations.Check("breaker", "Config.Window", c.Window),
		durations.Check("breaker", "Config.SlowCall", c.SlowCall),
		durations.Check("breaker", "Config.HalfOpenTimeout", c.HalfOpenTimeout),
	); err != nil {
		return settings{}, err
	}
	switch {
	case c.WindowCalls < 0:
		return bad("WindowCalls", c.WindowCalls, ">= 0")
	case c.WindowCalls > MaxWindowCalls:
		return bad("WindowCalls", c.WindowCalls, fmt.Sprintf("<= %d", MaxWindowCalls))
	case c.WindowCalls > 0 && c.Window > 0:
		return settings{}, fmt.Errorf("breaker: Config.WindowCalls (%d) and Config.Window (%v) are both set; choose a count or a time window", c.WindowCalls, c.Window)
	case c.MinCalls < 0:
		return bad("MinCalls", c.MinCalls, ">= 0")
	case c.MinCalls > MaxWindowCalls:
		return bad("MinCalls", c.MinCalls, fmt.Sprintf("<= %d", MaxWindowCalls))
	case c.WindowCalls > 0 && c.MinCalls > c.WindowCalls:
		return settings{}, fmt.Errorf("breaker: Config.MinCalls (%d) must be <= Config.WindowCalls (%d), or the window never trips", c.MinCalls, c.WindowCalls)
	case !validRate(c.FailureRate):
		return bad("FailureRate", c.FailureRate, "in (0, 1]")
	case !validRate(c.SlowCallRate):
		return bad("SlowCallRate", c.SlowCallRate, "in (0, 1]")
	case c.SlowCallRate != 0 && c.SlowCall == 0:
		return settings{}, fmt.Errorf("breaker: Config.SlowCallRate (%v) is set without Config.SlowCall", c.SlowCallRate)
	case c.HalfOpenCalls < 0:
		return bad("HalfOpenCalls", c.HalfOpenCalls, ">= 0")
	case c.HalfOpenCalls > MaxHalfOpenCalls:
		return bad("HalfOpenCalls", c.HalfOpenCalls, fmt.Sprintf("<= %d", MaxHalfOpenCalls))
	}
	if s.WindowCalls == 0 {
		if s.Window == 0 {
			s.Window = DefaultWindow
		}
		s.window = int64(s.Window)
		s.bucket = max(1, s.window/timeBuckets)
	}
	if s.MinCalls == 0 {
		s.MinCalls = DefaultMinCalls
		if s.WindowCalls > 0 {
			s.MinCalls = min(s.MinCalls, s.WindowCalls)
		}
	}
	if s.FailureRate == 0 {
		s.FailureRate = DefaultFailureRate
	}
	if s.SlowCall > 0 && s.SlowCallRate == 0 {
		s.SlowCallRate = DefaultSlowCallRate
	}
	if s.HalfOpenCalls == 0 {
		s.HalfOpenCalls = DefaultHalfOpenCalls
	}
	if s.OpenBackoff == nil {
		s.OpenBackoff = defaultOpenBackoff()
	}
	s.minCalls = int64(s.MinCalls)
	s.halfOpenCalls = int64(s.HalfOpenCalls)
	return s, nil
}

// openJitter is the most the default open period is lengthened at random:
// a quarter of it. It is under the growth of 1.5 per step, so that every
// period is longer than the one before until the growth stops.
const openJitter = 0.25

// defaultOpenBackoff is cenkalti/backoff's exponential schedule without
// its own randomisation (which shortens as often as it lengthens), with
// the jitter added on top.
func defaultOpenBackoff() backoff.BackOff {
	return &lengthened{next: backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(DefaultOpenMin),
		backoff.WithMultiplier(1.5),
		backoff.WithRandomizationFactor(0),
		backoff.WithMaxInterval(time.Duration(float64(DefaultOpenMax)/(1+openJitter))),
		backoff.WithMaxElapsedTime(0),
	)}
}

// lengthened adds up to openJitter of each period at random.
type lengthened struct{ next backoff.BackOff }

func (l *lengthened) NextBackOff() time.Duration {
	d := l.next.NextBackOff()
	if d <= 0 {
		return d
	}
	return d + rand.N(time.Duration(float64(d)*openJitter)+1)
}

func (l *lengthened) Reset() { l.next.Reset() }

// validRate accepts 0 (the default) and (0, 1]; NaN is rejected.
func validRate(r float64) bool { return r == 0 || (r > 0 && r <= 1 && !math.IsNaN(r)) }
