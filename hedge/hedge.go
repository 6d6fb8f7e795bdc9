package hedge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/internal/stripe"
	"github.com/watertight-go/watertight/ledger"
)

var (
	errNilFunc    = errors.New("hedge: Do called with a nil fn")
	errNilCtx     = errors.New("hedge: Do called with a nil ctx")
	errNilHedge   = errors.New("hedge: Do called on a nil *Hedge")
	errNotCreated = errors.New("hedge: Hedge not created with New")
)

// Hedge sends a second copy of a call that is slow (or failed), and takes
// whichever answers first. Create it with New; it is safe for concurrent
// use. A zero Hedge's Do returns an error saying it was not created with
// New.
type Hedge struct {
	name        string
	fixed       time.Duration // Config.Delay; 0: adaptive
	lat         *latencies    // the adaptive delay; nil with a fixed one
	maxHedges   int
	budget      *budget.Budget
	isRetryable func(error) bool

	calls                 stripe.Counter
	hedges, wins, refused atomic.Uint64
	running               atomic.Int64
	records               sync.Pool // *call, made outside synctest bubbles
}

// New returns a Hedge configured by cfg, or an error naming the first
// invalid field.
func New(cfg Config) (*Hedge, error) {
	c, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	h := &Hedge{name: c.Name, fixed: c.Delay, maxHedges: c.MaxHedges, budget: c.Budget, isRetryable: c.IsRetryable}
	if c.Delay == 0 {
		h.lat = newLatencies(c.Quantile)
	}
	return h, nil
}

// MustNew is like New but panics if cfg is invalid.
func MustNew(cfg Config) *Hedge {
	h, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return h
}

// Name returns Config.Name.
func (h *Hedge) Name() string {
	if h == nil {
		return ""
	}
	return h.name
}

// Budget returns the budget the Hedge withdraws from: Config.Budget, or
// its own.
func (h *Hedge) Budget() *budget.Budget {
	if h == nil {
		return nil
	}
	return h.budget
}

// delay is the wait before a hedge now; 0: hedge only on a retryable
// failure.
func (h *Hedge) delay() time.Duration {
	if h.lat != nil {
		return h.lat.current()
	}
	return h.fixed
}

// Do runs fn on the caller's goroutine and, if it has not returned after
// the delay (or failed with a retryable error) and the budget allows,
// runs it again alongside on a new goroutine, up to MaxHedges times. See
// the package doc for the whole contract.
func (h *Hedge) Do(ctx context.Context, fn func(context.Context) error) error {
	switch {
	case h == nil:
		return errNilHedge
	case fn == nil:
		return errNilFunc
	case ctx == nil:
		return errNilCtx
	case h.budget == nil:
		return errNotCreated
	}
	start := monotime.Now()
	c := h.record(start)
	c.fn, c.parent, c.start = fn, ctx, start
	h.budget.Deposit()
	h.calls.Add(stripe.Hint())

	first, cancel := context.WithCancel(ctx)
	c.cancels[0] = cancel
	if d := h.delay(); d > 0 {
		c.mu.Lock() // the timer may fire before AfterFunc has returned it
		c.arm(d)
		c.mu.Unlock()
	}
	returned := false
	defer func() {
		if !returned { // fn panicked (or called Goexit) on the caller's goroutine: end the call, then let it go on up
			c.abandon()
		}
	}()
	err := fn(first)
	// IsRetryable is the user's and may panic: outside any lock, and
	// before returned is set, so that its panic ends the call as fn's
	// would.
	retryable := err != nil && first.Err() == nil && h.isRetryable(err) // a cancelled attempt: the call is decided, no need to ask
	returned = true
	return c.firstReturned(err, retryable)
}

// record returns a call record: a pooled one outside synctest bubbles,
// whose timer is made once.
func (h *Hedge) record(now int64) *call {
	bubbled := monotime.InBubble(now)
	if !bubbled {
		if c, ok := h.records.Get().(*call); ok {
			return c
		}
	}
	return &call{h: h, bubbled: bubbled}
}

// call is one call of Do: its attempts, and who won.
type call struct {
	h       *Hedge
	fn      func(context.Context) error
	parent  context.Context
	start   int64       // monotime of the first attempt's start
	timer   *time.Timer // fires c.fire; made on first use, kept with the record
	armed   bool        // the timer may fire for this call; guarded by mu
	pending bool        // the timer fired as the call was decided: its func may still run; never pooled
	bubbled bool        // made in a synctest bubble: never pooled

	mu        sync.Mutex
	decided   bool
	won       bool // an attempt succeeded
	winner    int  // which: 0 the first, 1.. the hedges
	firstErr  error
	firstDone bool
	noMore    bool // the budget refused, or the call is decided: no more hedges
	launched  int  // hedges started
	running   int  // hedges still running
	cancels   [1 + MaxHedgesLimit]context.CancelFunc
	panicked  *PanicError   // a hedge's panic that became the call's result
	done      chan struct{} // closed when decided; made with the first hedge
}

// arm starts the timer for the next hedge. c.mu must be held.
func (c *call) arm(d time.Duration) {
	c.armed = true
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.fire)
	} else {
		c.timer.Reset(d)
	}
}

// fire is the timer's func: a hedge is due.
func (c *call) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed && !c.decided {
		c.armed = false
		c.launchLocked()
	}
}

// launchLocked starts a hedge if the call may have one. c.mu must be held.
func (c *call) launchLocked() bool {
	h := c.h
	if c.decided || c.noMore || c.launched >= h.maxHedges || c.parent.Err() != nil {
		return false
	}
	if !h.budget.TryWithdraw() {
		h.refused.Add(1)
		c.noMore = true // a refusal ends the hedging of this call
		return false
	}
	c.launched++
	i := c.launched
	hctx, cancel := context.WithCancel(c.parent)
	c.cancels[i] = cancel
	c.running++
	h.running.Add(1)
	h.hedges.Add(1)
	if c.done == nil {
		c.done = make(chan struct{})
	}
	if d := h.delay(); d > 0 && c.launched < h.maxHedges {
		c.arm(d) // the next hedge, a delay after this one
	}
	go c.hedge(i, hctx)
	return true
}

// hedge runs attempt i on its own goroutine.
func (c *call) hedge(i int, ctx context.Context) {
	start := monotime.Now()
	returned := false
	defer func() {
		if !returned {
			c.hedgePanicked(i, recover(), debug.Stack(), time.Duration(monotime.Now()-start))
		}
	}()
	err := c.fn(ctx)
	retryable := err != nil && ctx.Err() == nil && c.h.isRetryable(err) // outside the lock; a panic is the attempt's
	returned = true
	end := monotime.Now()
	outcome := c.hedgeReturned(i, err, retryable, time.Duration(end-start))
	record.Span(c.parent, c.h.name, ledger.Attempt, start, end, outcome)
}

// hedgeReturned takes hedge i's result, and returns its outcome for the
// ledger: "" if it won, "lost", or how it failed.
func (c *call) hedgeReturned(i int, err error, retryable bool, took time.Duration) (outcome string) {
	h := c.h
	c.mu.Lock()
	lost := c.decided
	c.observe(took, lost)
	outcome = record.Outcome(err)
	switch {
	case lost:
		outcome = "lost"
	case err == nil:
		h.wins.Add(1)
		c.decideLocked(true, i)
	case retryable && c.launchLocked():
		// failed: the next hedge went out at once
	case c.firstDone && c.running == 1:
		c.decideLocked(false, 0) // every attempt failed: the first one's error
	}
	c.running--
	c.mu.Unlock()
	h.running.Add(-1)
	return outcome
}

// hedgePanicked takes a panic (or Goexit, value nil) of hedge i. While the
// call is undecided the panic is its result, and Do re-panics it in the
// caller's goroutine; once it is decided nobody waits for this attempt, so
// the panic is logged with its stack, as timeout logs an abandoned call's.
func (c *call) hedgePanicked(i int, value any, stack []byte, took time.Duration) {
	h := c.h
	c.mu.Lock()
	late := c.decided
	c.observe(took, true)
	if !late {
		c.panicked = &PanicError{Name: h.name, Value: value, Stack: stack}
		c.decideLocked(false, i)
	}
	c.running--
	c.mu.Unlock()
	h.running.Add(-1)
	if late {
		slog.Error("hedge: losing attempt panicked", "name", h.name, "panic", value, "stack", string(stack))
	}
}

// observe feeds an attempt's duration to the adaptive delay: censored when
// we cancelled it (it lost) or the caller's ctx ended.
func (c *call) observe(took time.Duration, lost bool) {
	if l := c.h.lat; l != nil {
		l.observe(took, lost || c.parent.Err() != nil)
	}
}

// decideLocked ends the call: won by attempt winner, or lost. Every other
// attempt's ctx is cancelled, and no more hedges start. c.mu must be held.
func (c *call) decideLocked(won bool, winner int) {
	c.decided, c.won, c.winner, c.noMore = true, won, winner, true
	if c.armed && !c.timer.Stop() {
		c.pending = true
	}
	c.armed = false
	for i, cancel := range c.cancels {
		if cancel != nil && (i != winner || !won) {
			cancel()
		}
	}
	if c.done != nil {
		close(c.done)
	}
}

// firstReturned takes the first attempt's result, waits for the call to
// be decided if hedges still run, and returns Do's result.
func (c *call) firstReturned(err error, retryable bool) error {
	c.mu.Lock()
	c.firstDone = true
	end := monotime.Now()
	c.observe(time.Duration(end-c.start), c.decided)
	outcome := record.Outcome(err)
	if c.decided {
		outcome = "lost" // a hedge won
	}
	switch {
	case c.decided:
	case err == nil:
		c.decideLocked(true, 0)
	default:
		c.firstErr = err
		if !(retryable && c.launchLocked()) && c.running == 0 {
			c.decideLocked(false, 0)
		}
	}
	done, hedged := c.done, c.launched > 0
	c.mu.Unlock()
	if hedged { // a call that did not hedge was just the call: nothing to show
		record.Span(c.parent, c.h.name, ledger.Attempt, c.start, end, outcome)
	}
	if done != nil {
		<-done
	}
	c.mu.Lock()
	won, pe, firstErr := c.won, c.panicked, c.firstErr
	c.mu.Unlock()
	c.release()
	switch {
	case pe != nil:
		panic(pe)
	case won:
		return nil
	}
	return firstErr
}

// abandon ends a call whose first attempt panicked on the caller's
// goroutine: the hedges are cancelled and left to finish as losers.
func (c *call) abandon() {
	c.mu.Lock()
	c.firstDone = true
	if !c.decided {
		c.decideLocked(false, 0)
	}
	c.mu.Unlock()
}

// release pools c if nothing can touch it any more: no hedge was started
// (so no goroutine holds it), and its timer was stopped before it fired.
// Only Do's goroutine calls it, after the call was decided.
func (c *call) release() {
	c.cancels[0]()
	if c.bubbled || c.launched > 0 || c.pending {
		return
	}
	*c = call{h: c.h, timer: c.timer}
	c.h.records.Put(c)
}

// PanicError is what Do re-panics with when a hedge, on its own goroutine,
// panicked while the call was undecided: the value and that goroutine's
// stack, which the caller's would not show.
type PanicError struct {
	Name  string // Config.Name
	Value any    // what the attempt panicked with; nil for runtime.Goexit
	Stack []byte // the hedge goroutine's stack
}

// Error prints the value and the hedge goroutine's stack, so that an
// unrecovered re-panic shows where the attempt failed.
func (e *PanicError) Error() string {
	return fmt.Sprintf("hedge %q: attempt panicked: %v\n\nattempt stack:\n%s", e.Name, e.Value, e.Stack)
}
