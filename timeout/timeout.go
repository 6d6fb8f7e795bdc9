package timeout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/internal/durations"
	"github.com/watertight-go/watertight/internal/withindo"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/poolwait"
)

// A cooperative Timeout waits for fn; an abandoning one leaves it running.
func init() { withindo.Register[Timeout](func(t *Timeout) bool { return !t.abandon }) }

// Timeout bounds how long a call may take. Create it with New; it is safe
// for concurrent use. A zero Timeout has no duration: its Do returns an
// error saying it was not created with New, without calling fn.
type Timeout struct {
	name         string
	d            time.Duration
	abandon      bool
	onLate       func(Late)
	minRemaining time.Duration
	stats        *counters // nil for the package-level Do
}

type counters struct {
	exceeded, canceled, refused, latePanics atomic.Uint64
	abandoned                               atomic.Int64
	duration                                poolwait.Recorder
}

// New returns a Timeout configured by cfg, or an error naming the first
// invalid field.
func New(cfg Config) (*Timeout, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Timeout{
		name:         cfg.Name,
		d:            cfg.Duration,
		abandon:      cfg.Abandon,
		onLate:       cfg.OnLate,
		minRemaining: cfg.MinRemaining,
		stats:        new(counters),
	}, nil
}

// MustNew is like New but panics if cfg is invalid.
func MustNew(cfg Config) *Timeout {
	t, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return t
}

// Name returns Config.Name.
func (t *Timeout) Name() string {
	if t == nil {
		return ""
	}
	return t.name
}

// Do runs fn with a context whose deadline is Config.Duration from now (or
// the caller's, if earlier) and returns fn's error, or an error matching
// ErrExceeded when our deadline ended the call, or the caller's ctx.Err()
// when the caller's deadline or cancellation did. See the package doc for
// the whole contract of both modes.
func (t *Timeout) Do(ctx context.Context, fn func(context.Context) error) error {
	if t == nil {
		return errNilTimeout
	}
	return t.run(ctx, t.d, fn)
}

// Do runs fn under a cooperative timeout of d, like (*Timeout).Do with a
// Timeout of Duration d that keeps no statistics. d under 1 ms is an
// error, as in Config.Duration, and fn is not called.
func Do(ctx context.Context, d time.Duration, fn func(context.Context) error) error {
	if d <= 0 || d < durations.Min {
		return fmt.Errorf("timeout: Do: d must be at least 1ms, got %v", d)
	}
	return bare.run(ctx, d, fn)
}

// bare runs the package-level Do: cooperative, unnamed, no statistics.
var bare = &Timeout{}

// Remaining returns the time left before ctx's deadline, and false if ctx
// has none. It is 0, never negative, once the deadline has passed.
func Remaining(ctx context.Context) (time.Duration, bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return max(0, time.Until(deadline)), true
}

func (t *Timeout) run(ctx context.Context, d time.Duration, fn func(context.Context) error) error {
	if fn == nil {
		return errNilFunc
	}
	if ctx == nil {
		return errNilCtx
	}
	if d <= 0 {
		return errNotCreated // a zero Timeout; the package-level Do checked its d
	}
	c := t.stats
	if err := ctx.Err(); err != nil {
		if c != nil {
			c.canceled.Add(1)
		}
		return err
	}
	if t.minRemaining > 0 {
		if left, ok := Remaining(ctx); ok && left < t.minRemaining {
			if c != nil {
				c.refused.Add(1)
			}
			if ledger.From(ctx) != nil {
				now := time.Now()
				ledger.Span(ctx, t.name, ledger.Refused, now, now, "no budget")
			}
			return ErrNoBudget
		}
	}
	cause := newCause(t.name, d)
	start := time.Now()
	tctx, cancel := context.WithDeadlineCause(ctx, start.Add(d), cause)
	if t.abandon {
		return t.runAbandonable(ctx, tctx, cancel, cause, start, fn)
	}
	inTime := false
	defer func() { // also when fn panics
		cancel()
		elapsed := time.Since(start)
		recycle(cause, inTime, elapsed)
		if c != nil {
			c.duration.Observe(elapsed)
		}
	}()
	err := fn(tctx)
	if tctx.Err() == nil {
		inTime = true // neither deadline fired while fn ran
		return err
	}
	return t.ended(ctx, tctx, cause, start, err)
}

// ended decides what Do returns when fn returned err after tctx was done:
// by our deadline (cause), or by the caller's deadline or cancellation.
func (t *Timeout) ended(ctx, tctx context.Context, cause *exceeded, start time.Time, err error) error {
	c := t.stats
	if context.Cause(tctx) == cause {
		if c != nil {
			c.exceeded.Add(1)
		}
		if ledger.From(ctx) != nil {
			ledger.Span(ctx, t.name, ledger.Expired, start, time.Now(), "")
		}
		switch {
		case err == nil:
			return nil // the work succeeded, late
		case errors.Is(err, cause):
			// fn already wrapped our cause (fmt.Errorf("…: %w",
			// context.Cause(ctx))): its error matches ErrExceeded as it
			// is, and wrapping it again would print the cause twice.
			return err
		}
		return &exceeded{name: t.name, d: cause.d, err: err}
	}
	if c != nil {
		c.canceled.Add(1)
	}
	if err == nil {
		return nil
	}
	return ctx.Err()
}

// logLatePanic is what happens to an abandoned call's panic when there is
// no OnLate: it is not swallowed silently.
func logLatePanic(l Late) {
	if l.Panic == nil && !l.Goexit {
		return
	}
	slog.Error("timeout: abandoned call panicked", "name", l.Name, "panic", l.Panic,
		"elapsed", l.Elapsed, "stack", string(l.Stack))
}
