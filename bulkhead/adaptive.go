package bulkhead

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/adaptive"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/stripe"
)

// LimitChange is a change of a bulkhead's limit, for Config.OnLimitChange:
// by its adaptive Limit or by SetMaxConcurrent.
type LimitChange struct {
	Name     string // Config.Name
	From, To int
}

// adaptiveState is what an adaptive bulkhead keeps besides the static one.
type adaptiveState struct {
	limit   adaptive.Limit
	ceiling atomic.Int64 // MaxConcurrent: the limit never goes above it

	// When calls come faster than a limit needs to learn, one in every is
	// timed (two clock reads: most of what an adaptive Do would cost
	// otherwise), and its sample stands for every calls. every is a power
	// of two; it doubles while timed calls end less than fastGap apart,
	// and halves when they end more than slowGap apart.
	every     atomic.Uint32
	ticks     [stripe.Count]tick // calls counted per stripe: a stripe times its every-th
	fast      atomic.Int32       // timed calls in a row that ended less than fastGap apart
	lastTimed atomic.Int64       // monotime of the last timed call's end
	meanRTT   atomic.Int64       // of the timed calls, smoothed: the latency of a drop that was not timed
}

// tick is one stripe's count of calls, on a cache line of its own.
type tick struct {
	n atomic.Uint32
	_ [60]byte
}

// The sampling: at least 1/slowGap timed calls a second, so a limit learns
// from thousands of samples a second whatever the call rate; below
// 1/fastGap calls a second, every call is timed. Sampling starts only
// after fastStreak timed calls in a row came that fast: a burst is timed
// whole.
const (
	fastGap    = 100 * time.Microsecond
	slowGap    = 400 * time.Microsecond
	fastStreak = 64
	maxEvery   = 64
)

// doAdaptive is Do for a bulkhead with a Limit: it times the call (or one
// in every, at a high call rate) and reports it.
func (b *Bulkhead) doAdaptive(ctx context.Context, fn func(context.Context) error) error {
	if err := b.acquire(ctx); err != nil {
		return err
	}
	a := b.adaptive
	every := a.every.Load()
	if every > 1 && a.ticks[stripe.Hint()].n.Add(1)&(every-1) != 0 {
		return b.doUntimed(ctx, fn)
	}
	start, inFlight := monotime.Now(), state(b.state.Load()).inFlight()
	returned := false
	defer func() {
		if !returned { // fn panicked: free the slot; the call says nothing of the dependency's latency
			b.release()
		}
	}()
	err := fn(ctx)
	returned = true
	end := monotime.Now()
	b.release()
	b.observe(ctx, err, start, end, inFlight, int(max(every, 1)))
	a.timed(end, end-start)
	return err
}

// doUntimed runs a call that is not timed. A drop (an inner deadline, an
// inner refusal) is still reported, always: it reads the clock once, and
// takes the smoothed latency of the timed calls as its own.
func (b *Bulkhead) doUntimed(ctx context.Context, fn func(context.Context) error) error {
	returned := false
	defer func() {
		if !returned {
			b.release()
		}
	}()
	err := fn(ctx)
	returned = true
	b.release()
	if err != nil && ctx.Err() == nil && dropped(err) {
		end, rtt := monotime.Now(), b.adaptive.meanRTT.Load()
		b.observe(ctx, err, end-rtt, end, state(b.state.Load()).inFlight(), 1)
	}
	return err
}

// timed adjusts the sampling after a timed call that ended at end and
// took rtt.
func (a *adaptiveState) timed(end, rtt int64) {
	for {
		old := a.meanRTT.Load()
		next := old + (rtt-old)/8
		if old == 0 {
			next = rtt
		}
		if a.meanRTT.CompareAndSwap(old, next) {
			break
		}
	}
	gap := time.Duration(end - a.lastTimed.Swap(end))
	if gap >= fastGap {
		a.fast.Store(0)
	}
	switch every := a.every.Load(); {
	case gap < fastGap && every < maxEvery && a.fast.Add(1) >= fastStreak:
		a.fast.Store(0)
		a.every.CompareAndSwap(every, max(every*2, 2))
	case gap > slowGap && every > 1:
		a.every.CompareAndSwap(every, every/2)
	}
}

// observe reports one finished call to the Limit and applies the limit it
// returns. Nothing is reported when the caller's own ctx is done: the
// caller left, which says nothing of the dependency. An inner deadline or
// an inner refusal is a sign of overload (Dropped).
func (b *Bulkhead) observe(ctx context.Context, err error, start, end int64, inFlight, calls int) {
	if ctx.Err() != nil {
		return
	}
	n := b.adaptive.limit.Observe(adaptive.Sample{
		Start:    time.Duration(start),
		RTT:      time.Duration(end - start),
		InFlight: inFlight,
		Dropped:  err != nil && dropped(err),
		Calls:    calls,
	})
	n = min(max(n, 1), int(b.adaptive.ceiling.Load()))
	if n != state(b.state.Load()).limit() {
		b.setLimit(n)
	}
}

// dropped reports whether err signals overload: an inner deadline, or an
// inner refusal.
func dropped(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, watertight.ErrRejected)
}

// newAdaptiveRelease is newRelease for an adaptive bulkhead: the call is
// timed from now and reported when released (as a success: release has no
// error to say otherwise). ctx is Acquire's, or Background for TryAcquire.
func (b *Bulkhead) newAdaptiveRelease(ctx context.Context) func() {
	start, inFlight := monotime.Now(), state(b.state.Load()).inFlight()
	var released atomic.Bool
	return func() {
		if released.CompareAndSwap(false, true) {
			end := monotime.Now()
			b.release()
			b.observe(ctx, nil, start, end, inFlight, 1)
		}
	}
}
