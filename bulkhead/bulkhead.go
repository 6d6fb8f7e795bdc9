package bulkhead

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/adaptive"
	"github.com/watertight-go/watertight/internal/codel"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/owned"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/internal/rejection"
	"github.com/watertight-go/watertight/internal/withindo"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/poolwait"
)

// Do runs fn on the caller's goroutine, within Do.
func init() { withindo.Register[Bulkhead](nil) }

var (
	// ErrFull is returned when every slot is taken and the queue is full
	// (or MaxQueue is 0). It matches watertight.ErrRejected.
	ErrFull error = errFull
	// ErrWaitTimeout is returned when a caller waited MaxWait without
	// getting a slot. It matches watertight.ErrRejected.
	ErrWaitTimeout error = errWaitTimeout

	errFull        = rejection.New("bulkhead", "full")
	errWaitTimeout = rejection.New("bulkhead", "wait timeout")
	errNilFunc     = errors.New("bulkhead: Do called with a nil fn")
	errNilCtx      = errors.New("bulkhead: Do called with a nil ctx")
	errNotCreated  = errors.New("bulkhead: Bulkhead not created with New")
	errNilBulkhead = errors.New("bulkhead: Do called on a nil *Bulkhead")
)

// Bulkhead caps how many calls to one dependency run at once, and how many
// wait. Create it with New; it is safe for concurrent use. A zero Bulkhead
// has no limit to enforce: Do, Acquire and SetMaxConcurrent return an
// error saying it was not created with New, and TryAcquire never grants.
type Bulkhead struct {
	// The uncontended paths touch only this word, on a cache line of its own.
	state atomic.Uint64 // a state
	_     [56]byte

	name     string
	maxQueue int
	maxWait  time.Duration
	full     error // errFull, named
	timedOut error // errWaitTimeout, named

	mu      sync.Mutex
	queue   waitQueue
	waiters waiterPool

	granted                       uint64            // slots granted without a wait, moved out of state; guarded by mu
	wait                          poolwait.Recorder // the calls that waited for their slot
	rejected, timeouts, cancelled atomic.Uint64

	codel         *codel.State   // nil: the queue is FIFO
	shed          atomic.Uint64  // waiters CoDel refused
	adaptive      *adaptiveState // nil: the limit is MaxConcurrent
	onLimitChange func(LimitChange)
	changes       ordered[LimitChange] // delivered to onLimitChange outside the lock, in order
}

// New returns a Bulkhead configured by cfg, or an error naming the first
// invalid field.
func New(cfg Config) (*Bulkhead, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &Bulkhead{
		name:     cfg.Name,
		maxQueue: cfg.MaxQueue,
		maxWait:  cfg.MaxWait,
		full:     rejection.Name(errFull, cfg.Name),
		timedOut: rejection.Name(errWaitTimeout, cfg.Name),
	}
	limit := cfg.MaxConcurrent
	if cfg.Limit != nil && !owned.Claim(cfg.Limit, b) {
		return nil, fmt.Errorf("bulkhead: Config.Limit (%T %p) is already another bulkhead's: it would mix their calls into one limit; give each bulkhead its own", cfg.Limit, cfg.Limit)
	}
	if cfg.Limit != nil {
		b.adaptive = &adaptiveState{limit: cfg.Limit}
		b.adaptive.ceiling.Store(int64(cfg.MaxConcurrent))
		limit = adaptive.DefaultInitial
		if l, ok := cfg.Limit.(interface{ Initial() int }); ok {
			limit = l.Initial()
		}
		limit = min(max(limit, 1), cfg.MaxConcurrent)
	}
	b.onLimitChange = cfg.OnLimitChange
	if cfg.Queue == CoDel {
		b.codel = codel.NewState(cfg.CoDelTarget, cfg.CoDelInterval)
	}
	b.state.Store(uint64(makeState(0, limit, 0)))
	return b, nil
}

// MustNew is like New but panics if cfg is invalid. Use it for bulkheads
// configured by constants in package-level variables.
func MustNew(cfg Config) *Bulkhead {
	b, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return b
}

// Name returns Config.Name.
func (b *Bulkhead) Name() string {
	if b == nil {
		return ""
	}
	return b.name
}

// Do runs fn once a slot is free and returns fn's error. It returns ErrFull
// or ErrWaitTimeout (both match watertight.ErrRejected) without calling fn
// if no slot could be had, and ctx.Err() if ctx ended first (or had already
// ended). The slot is released when fn returns or panics; a panic continues
// up the caller's stack.
func (b *Bulkhead) Do(ctx context.Context, fn func(context.Context) error) error {
	if b == nil {
		return errNilBulkhead
	}
	if fn == nil {
		return errNilFunc
	}
	if ctx == nil {
		return errNilCtx
	}
	if b.adaptive != nil {
		return b.doAdaptive(ctx, fn)
	}
	if err := b.acquire(ctx); err != nil {
		return err
	}
	defer b.release()
	return fn(ctx)
}

// Acquire waits for a slot like Do and returns the func that frees it. The
// caller must call release exactly once when done; calling it again does
// nothing, like a context.CancelFunc. Unlike Do, Acquire allocates the
// release func.
func (b *Bulkhead) Acquire(ctx context.Context) (release func(), err error) {
	switch {
	case b == nil:
		return nil, errNilBulkhead
	case ctx == nil:
		return nil, errNilCtx
	}
	if err := b.acquire(ctx); err != nil {
		return nil, err
	}
	if b.adaptive != nil {
		return b.newAdaptiveRelease(ctx), nil
	}
	return b.newRelease(), nil
}

// TryAcquire takes a slot if one is free and nobody is queued for it, and
// never waits. It returns ok false, and counts a rejection, otherwise.
func (b *Bulkhead) TryAcquire() (release func(), ok bool) {
	if b == nil {
		return nil, false
	}
	if !b.tryFast() {
		b.rejected.Add(1)
		return nil, false
	}
	if b.adaptive != nil {
		return b.newAdaptiveRelease(context.Background()), true // no caller ctx: the call always reports
	}
	return b.newRelease(), true
}

// newRelease returns an idempotent release func for a slot just taken.
func (b *Bulkhead) newRelease() func() {
	var released atomic.Bool
	return func() {
		if released.CompareAndSwap(false, true) {
			b.release()
		}
	}
}

// SetMaxConcurrent changes the limit at run time. Growing it admits waiters
// at once, first in first out. Shrinking it lets the calls in flight finish
// and admits no one until fewer than n are in flight. n must be 1 to
// MaxLimit; otherwise SetMaxConcurrent returns an error and changes nothing.
// With an adaptive Limit, n is the new ceiling: the limit moves under it,
// and is lowered to it at once if it is above.
func (b *Bulkhead) SetMaxConcurrent(n int) error {
	if n <= 0 || n > MaxLimit {
		return fmt.Errorf("bulkhead: SetMaxConcurrent: n must be in 1..%d, got %d", MaxLimit, n)
	}
	if b == nil || b.full == nil {
		return errNotCreated
	}
	if b.adaptive != nil {
		b.adaptive.ceiling.Store(int64(n))
		if state(b.state.Load()).limit() <= n {
			return nil
		}
	}
	b.setLimit(n)
	return nil
}

// setLimit makes n the limit and reports the change to OnLimitChange.
func (b *Bulkhead) setLimit(n int) {
	b.mu.Lock()
	var from int
	for {
		s := state(b.state.Load())
		from = s.limit()
		// Hand the new slots to as many waiters as they cover.
		admit := max(0, min(s.waiting(), n-s.inFlight()))
		next := s.withLimit(n) + state(admit)*oneInFlight - state(admit)*oneWaiting
		if b.state.CompareAndSwap(uint64(s), uint64(next)) {
			newestFirst := b.codel != nil && b.codel.Standing(b.queue.head != nil, monotime.Now())
			for range admit {
				b.nextLocked(newestFirst).ready <- struct{}{}
			}
			break
		}
	}
	if from != n && b.onLimitChange != nil {
		b.changes.add(LimitChange{Name: b.name, From: from, To: n})
	}
	b.mu.Unlock()
	if b.onLimitChange != nil {
		b.changes.deliver(b.onLimitChange)
	}
}

// acquire takes a slot for Do and Acquire.
func (b *Bulkhead) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		b.cancelled.Add(1)
		return err
	}
	if b.tryFast() {
		return nil
	}
	return b.acquireSlow(ctx)
}

// tryFast takes a slot without locking if one is free and nobody waits, and
// counts it. Once every 64 grants the count is moved out of the state word,
// under the lock.
func (b *Bulkhead) tryFast() bool {
	for {
		s := state(b.state.Load())
		if !s.free() {
			return false
		}
		if s.granted() == grantedMax {
			return b.tryGrantLocked()
		}
		if b.state.CompareAndSwap(uint64(s), uint64(s+oneInFlight+oneGranted)) {
			return true
		}
	}
}

// tryGrantLocked is tryFast under the lock, moving the grant count out of
// the state word as it takes the slot.
func (b *Bulkhead) tryGrantLocked() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.grantLocked()
}

// grantLocked takes a free slot, if there is one and nobody waits, and
// counts it. b.mu must be held.
func (b *Bulkhead) grantLocked() bool {
	for {
		s := state(b.state.Load())
		if !s.free() {
			return false
		}
		n := s.granted()
		if b.state.CompareAndSwap(uint64(s), uint64(s+oneInFlight-state(n)*oneGranted)) {
			b.granted += uint64(n) + 1
			return true
		}
	}
}

// acquireSlow takes a slot, or queues for one and waits.
func (b *Bulkhead) acquireSlow(ctx context.Context) error {
	if b.full == nil {
		return errNotCreated // a zero Bulkhead: its limit is 0, so every call gets here
	}
	// Read before the lock, not under it: the wait counts from here, and
	// the reading also tells whether we are in a synctest bubble.
	start := monotime.Now()
	b.mu.Lock()
	for {
		if b.grantLocked() {
			b.mu.Unlock()
			return nil
		}
		s := state(b.state.Load())
		if s.free() {
			continue // a slot was freed since grantLocked looked
		}
		if s.waiting() >= b.maxQueue {
			b.mu.Unlock()
			b.rejected.Add(1)
			record.Span(ctx, b.name, ledger.Refused, start, start, "full")
			return b.full
		}
		if b.state.CompareAndSwap(uint64(s), uint64(s+oneWaiting)) {
			break
		}
	}
	w := b.waiters.get(start)
	var codelWait time.Duration
	if b.codel != nil {
		codelWait = b.codel.Joined(b.queue.head == nil, start)
	}
	w.since = start
	b.queue.pushBack(w)
	b.mu.Unlock()

	var expired <-chan time.Time
	wait, shedOnExpiry := b.maxWait, false
	if b.codel != nil && (wait == 0 || codelWait < wait) {
		// By then the queue stands and the waiter is past the target: CoDel
		// refuses it, whether or not a slot ever frees (a hung dependency
		// frees none).
		wait, shedOnExpiry = codelWait, true
	}
	if wait > 0 {
		expired = w.startTimer(wait)
	}
	var err error
	select {
	case <-w.ready:
		w.stopTimer()
		b.mu.Lock()
		shed := w.shed
		b.mu.Unlock()
		b.waiters.put(w)
		if shed {
			record.Span(ctx, b.name, ledger.Refused, start, 0, "shed")
			return b.timedOut // refused by CoDel at a hand-off; counted there
		}
		end := monotime.Now()
		b.wait.Observe(time.Duration(end - start))
		record.Span(ctx, b.name, ledger.Wait, start, end, "")
		return nil
	case <-ctx.Done():
		err = ctx.Err()
		b.cancelled.Add(1)
		record.Span(ctx, b.name, ledger.Wait, start, 0, "canceled")
	case <-expired:
		err = b.timedOut
		if shedOnExpiry {
			b.shed.Add(1)
			record.Span(ctx, b.name, ledger.Refused, start, 0, "shed")
		} else {
			b.timeouts.Add(1)
			record.Span(ctx, b.name, ledger.Refused, start, 0, "wait timeout")
		}
	}
	w.stopTimer()
	var now int64
	if b.codel != nil {
		now = monotime.Now()
	}
	b.mu.Lock()
	if w.queued {
		b.queue.remove(w)
		b.state.Add(^uint64(oneWaiting - 1)) // one fewer waiting
		if b.codel != nil && b.queue.head == nil {
			b.codel.Left(false, now) // emptied by a refusal (or a caller gone), not by serving
		}
		b.mu.Unlock()
	} else {
		// A slot was handed over (or CoDel shed us) as we gave up: pass
		// the slot on.
		shed := w.shed
		b.mu.Unlock()
		<-w.ready
		if !shed {
			b.release()
		} else {
			b.shed.Add(^uint64(0)) // it gave up on its own first: counted there, not as shed
		}
	}
	b.waiters.put(w)
	return err
}

// release frees a slot, handing it to the first waiter if there is one.
// It is one atomic add when nobody waits.
func (b *Bulkhead) release() {
	if state(b.state.Add(^uint64(oneInFlight-1))).waiting() != 0 {
		b.handOff()
	}
}

// handOff runs after a release that found callers waiting: the freed slot
// goes to the first of them, unless the limit shrank below what is still in
// flight, or they all gave up meanwhile. Until it runs, the slot stays free
// but nobody can take it without the lock: acquirers go to the queue while
// anyone waits.
func (b *Bulkhead) handOff() {
	var now int64
	if b.codel != nil {
		now = monotime.Now() // before the lock: the clock read need not lengthen it
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	newestFirst := b.codel != nil && b.shedLocked(now)
	for {
		s := state(b.state.Load())
		if s.waiting() == 0 || s.inFlight() >= s.limit() {
			return
		}
		if b.state.CompareAndSwap(uint64(s), uint64(s+oneInFlight-oneWaiting)) {
			b.nextLocked(newestFirst).ready <- struct{}{}
			return
		}
	}
}

// nextLocked takes the waiter a freed slot goes to: the oldest, or, in a
// standing CoDel queue, the newest. b.mu must be held.
func (b *Bulkhead) nextLocked(newestFirst bool) *waiter {
	var w *waiter
	if newestFirst {
		w = b.queue.popBack()
	} else {
		w = b.queue.popFront()
	}
	if b.codel != nil && b.queue.head == nil {
		b.codel.Left(true, 0) // emptied by serving
	}
	return w
}
