package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/owned"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/internal/rejection"
	"github.com/watertight-go/watertight/internal/withindo"
	"github.com/watertight-go/watertight/ledger"
)

// Do and Allow's done run within the call.
func init() { withindo.Register[Breaker](nil) }

// Breaker is a circuit breaker. Create it with New; it is safe for
// concurrent use and starts no goroutine. The zero Breaker is ready to use,
// as if made by New(Config{}): on its first call it sets itself up with the
// zero Config's defaults.
type Breaker struct {
	s            settings
	halfOpenFull error
	cur          atomic.Pointer[period] // nil only in a zero Breaker not used yet
	setupOnce    sync.Once

	// mu serialises transitions (and with them every use of OpenBackoff)
	// and the queue of state changes waiting for OnStateChange.
	mu         sync.Mutex
	longest    time.Duration // the longest open period so far, for backoff.Stop
	folded     int64         // calls counted by the windows of closed periods that ended
	pending    []StateChange
	delivering bool
	// last holds the KeptTransitions latest transitions, a ring from
	// lastNext, for LastTransitions; made at the first transition, so that
	// a breaker that never trips does not carry it (576 B).
	last     *[KeptTransitions]StateChange
	lastNext int
	lastLen  int

	// Counters, off the line of cur. A closed count window counts the
	// calls it records (see countWindow); stripes counts every other call
	// let through, and the rejected ones.
	_                        [64]byte
	failures, slowCalls      atomic.Uint64
	ignored, transitionTotal atomic.Uint64
	stripes                  *stripes
}

// New returns a closed Breaker configured by cfg, or an error naming the
// first invalid field.
func New(cfg Config) (*Breaker, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	b := &Breaker{s: s, halfOpenFull: rejection.Name(errHalfOpenFull, cfg.Name), stripes: new(stripes)}
	if cfg.OpenBackoff != nil && !owned.Claim(cfg.OpenBackoff, b) {
		return nil, fmt.Errorf("breaker: Config.OpenBackoff (%T %p) is already another breaker's: a BackOff is not safe for concurrent use; give each breaker its own", cfg.OpenBackoff, cfg.OpenBackoff)
	}
	b.cur.Store(b.newClosed())
	return b, nil
}

// load returns the period in force, setting up a zero Breaker first. It
// stays small enough to inline: the hot path pays one nil check.
func (b *Breaker) load() *period {
	if p := b.cur.Load(); p != nil {
		return p
	}
	return b.setup()
}

// setup makes a zero Breaker a New(Config{}) one, once.
func (b *Breaker) setup() *period {
	b.setupOnce.Do(func() {
		s, err := Config{}.settings()
		if err != nil {
			panic("breaker: the zero Config is invalid: " + err.Error()) // a bug here, not the caller's
		}
		b.s, b.halfOpenFull, b.stripes = s, errHalfOpenFull, new(stripes)
		b.cur.CompareAndSwap(nil, b.newClosed())
	})
	return b.cur.Load()
}

// MustNew is like New but panics if cfg is invalid.
func MustNew(cfg Config) *Breaker {
	b, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return b
}

// Name returns Config.Name.
func (b *Breaker) Name() string {
	if b == nil {
		return ""
	}
	return b.s.Name
}

// Do runs fn if the breaker lets the call through, and records how it
// went. It returns fn's error unchanged, or, without calling fn, an
// *OpenError (open) or ErrHalfOpenFull (half-open, probes taken). A panic
// in fn is recorded as a failure and goes on up the caller's stack.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) error {
	if b == nil {
		return errNilBreaker
	}
	if fn == nil {
		return errNilFunc
	}
	if ctx == nil {
		return errNilCtx
	}
	p, start, err := b.admit()
	if err != nil {
		if now := record.Now(ctx); now != 0 {
			outcome := "open"
			if err == b.halfOpenFull {
				outcome = "half-open full"
			}
			record.Span(ctx, b.s.Name, ledger.Refused, now, now, outcome)
		}
		return err
	}
	returned := false
	defer func() {
		if !returned {
			b.record(p, start, failed)
		}
	}()
	err = fn(ctx)
	returned = true
	b.finish(p, start, err, ctx)
	return err
}

// finish counts a call that returned err, or forgets it if it counts
// neither way. caller is Do's ctx, or nil for Allow's done.
func (b *Breaker) finish(p *period, start int64, err error, caller context.Context) {
	if b.s.IsIgnored != nil || b.s.IsFailure != nil {
		b.finishClassified(p, start, err, caller)
		return
	}
	if o, ok := b.classify(err, caller); ok {
		b.record(p, start, o)
	} else {
		b.ignore(p)
	}
}

// finishClassified is finish with the user's classifiers, which may
// panic: the call then counts neither way (a probe's slot is freed), and
// the panic goes on up.
func (b *Breaker) finishClassified(p *period, start int64, err error, caller context.Context) {
	classified := false
	defer func() {
		if !classified {
			b.ignore(p)
		}
	}()
	o, ok := b.classify(err, caller)
	classified = true
	if ok {
		b.record(p, start, o)
	} else {
		b.ignore(p)
	}
}

// Allow is the two-step form of Do, for calls that do not fit in a func:
// if the breaker lets the call through, it returns done, which the caller
// must call once with the call's error. done has no ctx, so by default any
// context.Canceled counts neither way. Calling done again does nothing; a
// probe whose done is never called holds its slot until HalfOpenTimeout.
// If the call is refused, err is an *OpenError or ErrHalfOpenFull and done
// does nothing.
//
// Allow allocates done; Do allocates nothing.
func (b *Breaker) Allow() (done func(err error), err error) {
	if b == nil {
		return noop, errNilBreaker
	}
	p, start, err := b.admit()
	if err != nil {
		return noop, err
	}
	var called atomic.Bool
	return func(err error) {
		if called.Swap(true) {
			return
		}
		b.finish(p, start, err, nil)
	}, nil
}

func noop(error) {}

// State returns the breaker's state now. Like every call, it applies the
// transitions that time has made due: an open period that ended, a
// half-open that timed out.
func (b *Breaker) State() State {
	if b == nil {
		return Closed
	}
	return b.current(monotime.Now()).state
}

// Reset closes the breaker with an empty window, whatever its state.
func (b *Breaker) Reset() {
	if b == nil {
		return
	}
	b.lockedInstall(b.load(), Closed, ReasonReset, monotime.Now(), false)
	b.deliver()
}

// current returns the period in force at now, applying due transitions.
func (b *Breaker) current(now int64) *period {
	for {
		p := b.load()
		switch {
		case p.state == Open && now >= p.until:
			b.transition(p, HalfOpen, ReasonOpenPeriodEnded, now)
		case p.state == HalfOpen && p.timedOut(now, b.s.halfOpenCalls):
			b.transition(p, Open, ReasonHalfOpenTimeout, now)
		default:
			return p
		}
	}
}

// admit lets a call through or refuses it. It returns the period the call
// belongs to, and its start when the call must be timed.
func (b *Breaker) admit() (p *period, start int64, err error) {
	p = b.load()
	if p.state == Closed { // the hot path: one atomic load
		if b.s.SlowCall > 0 {
			start = monotime.Now()
		}
		return p, start, nil
	}
	now := monotime.Now()
	for {
		p = b.current(now)
		switch p.state {
		case Closed:
			return p, now, nil
		case Open:
			b.stripes.addRejected(now)
			return nil, 0, p.openError(b.s.Name, now)
		}
		n := p.admitted.Load()
		if n >= b.s.halfOpenCalls {
			b.stripes.addRejected(now)
			return nil, 0, b.halfOpenFull
		}
		if p.admitted.CompareAndSwap(n, n+1) {
			p.deadline.CompareAndSwap(0, now+p.timeout) // from the first probe
			return p, now, nil
		}
	}
}

// timedOut reports whether a half-open period's probes missed their
// deadline.
func (p *period) timedOut(now, probes int64) bool {
	d := p.deadline.Load()
	return d != 0 && now >= d && p.reported.Load() < probes
}

// classify sorts a finished call's error: ok false means it counts neither
// way. caller is Do's ctx, or nil for Allow's done, which has none.
func (b *Breaker) classify(err error, caller context.Context) (o outcome, ok bool) {
	if err == nil {
		return 0, true
	}
	if b.s.IsIgnored != nil {
		if b.s.IsIgnored(err) {
			return 0, false
		}
	} else if errors.Is(err, watertight.ErrRejected) ||
		(errors.Is(err, context.Canceled) && (caller == nil || errors.Is(caller.Err(), context.Canceled))) {
		return 0, false
	}
	if b.s.IsFailure == nil || b.s.IsFailure(err) {
		return failed, true
	}
	return 0, true
}

// ignore forgets a call that counts neither way; a probe's slot is freed
// for another probe.
func (b *Breaker) ignore(p *period) {
	b.ignored.Add(1)
	if p.state == HalfOpen {
		p.admitted.Add(-1)
	}
}

// record counts a finished call in its period.
func (b *Breaker) record(p *period, start int64, o outcome) {
	var now int64
	if b.s.SlowCall > 0 || b.s.window > 0 || p.state == HalfOpen {
		now = monotime.Now()
		if b.s.SlowCall > 0 && time.Duration(now-start) >= b.s.SlowCall {
			o |= slow
			b.slowCalls.Add(1)
		}
	}
	if o&failed != 0 {
		b.failures.Add(1)
	}
	switch p.state {
	case Closed:
		check, counted := p.win.record(o, now, b.s.minCalls)
		if !counted {
			b.stripes.addCall(now)
		}
		if !check {
			return
		}
		if reason, trip := b.trips(p.win.counts(now)); trip {
			if now == 0 { // a count window without slow calls reads the clock only now
				now = monotime.Now()
			}
			b.transition(p, Open, reason, now)
		}
	case HalfOpen:
		b.stripes.addCall(now)
		if o&failed != 0 {
			p.probeFailures.Add(1)
		}
		if o&slow != 0 {
			p.probeSlows.Add(1)
		}
		if p.reported.Add(1) == b.s.halfOpenCalls {
			f, s := p.probeFailures.Load(), p.probeSlows.Load()
			switch {
			case rate(f, b.s.halfOpenCalls) >= b.s.FailureRate:
				b.transition(p, Open, ReasonProbesFailed, now)
			case b.s.SlowCall > 0 && rate(s, b.s.halfOpenCalls) >= b.s.SlowCallRate:
				b.transition(p, Open, ReasonProbesSlow, now)
			default:
				b.transition(p, Closed, ReasonProbesPassed, now)
			}
		}
	}
}

// trips reports whether a closed window's counts reach a threshold.
func (b *Breaker) trips(c counts) (Reason, bool) {
	switch {
	case c.calls < b.s.minCalls:
		return "", false
	case rate(c.failures, c.calls) >= b.s.FailureRate:
		return ReasonFailureRate, true
	case b.s.SlowCall > 0 && rate(c.slows, c.calls) >= b.s.SlowCallRate:
		return ReasonSlowCallRate, true
	}
	return "", false
}

// rate divides: a correctly rounded quotient compares exactly with a rate
// written as a decimal (3/10 >= 0.3), where n >= r*calls may not.
func rate(n, calls int64) float64 { return float64(n) / float64(calls) }

// transition moves the breaker from period from to state to, unless
// another call already moved it on.
func (b *Breaker) transition(from *period, to State, reason Reason, now int64) {
	b.lockedInstall(from, to, reason, now, true)
	b.deliver()
}

// lockedInstall runs installLocked under the lock, unless only is set and
// another call moved the breaker on from from. The unlock is deferred: an
// OpenBackoff that panics leaves the breaker in the state it was in, and
// unlocked.
func (b *Breaker) lockedInstall(from *period, to State, reason Reason, now int64, only bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !only || b.cur.Load() == from {
		b.installLocked(from, to, reason, now)
	}
}

// installLocked starts a period of state to after from.
func (b *Breaker) installLocked(from *period, to State, reason Reason, now int64) {
	var p *period
	switch to {
	case Closed:
		p = b.newClosed()
	case Open:
		p = &period{state: Open}
		p.length = b.openPeriodLocked(from.state == Closed)
		p.until = now + int64(p.length)
	case HalfOpen:
		p = &period{state: HalfOpen, timeout: int64(b.s.HalfOpenTimeout)}
		if p.timeout == 0 {
			p.timeout = int64(from.length)
		}
	}
	if from.state == Closed {
		b.folded += from.win.seal()
	}
	b.cur.Store(p)
	if from.state == to { // Reset of a closed breaker: a new window, no change
		return
	}
	b.transitionTotal.Add(1)
	ev := StateChange{Name: b.s.Name, From: from.state, To: to, Reason: reason, At: time.Now(), OpenPeriod: p.length}
	if b.last == nil {
		b.last = new([KeptTransitions]StateChange)
	}
	b.last[b.lastNext] = ev
	b.lastNext = (b.lastNext + 1) % KeptTransitions
	b.lastLen = min(b.lastLen+1, KeptTransitions)
	if b.s.OnStateChange != nil {
		b.pending = append(b.pending, ev)
	}
}

// KeptTransitions is how many of its latest transitions a Breaker keeps
// for LastTransitions.
const KeptTransitions = 8

// LastTransitions returns the breaker's latest transitions, at most
// KeptTransitions of them, oldest first: what a status page shows of its
// recent history. Like Stats, it first applies the transitions that time
// has made due. It allocates the slice it returns, and holds the
// breaker's lock for a moment.
func (b *Breaker) LastTransitions() []StateChange {
	if b == nil {
		return nil
	}
	b.current(monotime.Now())
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]StateChange, 0, b.lastLen)
	for i := range b.lastLen {
		out = append(out, b.last[(b.lastNext-b.lastLen+i+KeptTransitions)%KeptTransitions])
	}
	return out
}

func (b *Breaker) newClosed() *period {
	p := &period{state: Closed}
	if b.s.window > 0 {
		p.win = newTimeWindow(b.s.bucket)
	} else {
		p.win = newCountWindow(b.s.WindowCalls)
	}
	return p
}

// openPeriodLocked asks OpenBackoff for the next open period: afresh when
// the circuit opens from closed, the next step after a failed half-open.
func (b *Breaker) openPeriodLocked(fromClosed bool) time.Duration {
	if fromClosed {
		b.s.OpenBackoff.Reset()
	}
	d := b.s.OpenBackoff.NextBackOff()
	if d == backoff.Stop || d < 0 {
		d = b.longest
		if d == 0 {
			d = DefaultOpenMax
		}
	}
	b.longest = max(b.longest, d)
	return d
}

// deliver hands queued state changes to OnStateChange, outside the lock
// and in order. One goroutine delivers at a time; a transition made
// meanwhile (by a callback, or another call) is delivered by it too.
func (b *Breaker) deliver() {
	if b.s.OnStateChange == nil {
		return
	}
	b.mu.Lock()
	if b.delivering {
		b.mu.Unlock()
		return
	}
	b.delivering = true
	locked := true
	defer func() {
		// Also when the callback panics: the panic goes on up, once, and
		// the changes still queued go to the next delivery.
		if !locked {
			b.mu.Lock()
		}
		b.delivering = false
		b.mu.Unlock()
	}()
	for len(b.pending) > 0 {
		ev := b.pending[0]
		b.pending = b.pending[1:]
		b.mu.Unlock()
		locked = false
		b.s.OnStateChange(ev)
		b.mu.Lock()
		locked = true
	}
	b.pending = nil
}
