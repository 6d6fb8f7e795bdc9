package bulkhead

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/adaptive"
	"github.com/watertight-go/watertight/internal/monotime"
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
}

// doAdaptive is Do for a bulkhead with a Limit: it times the call and
// reports it.
func (b *Bulkhead) doAdaptive(ctx context.Context, fn func(context.Context) error) error {
	if err := b.acquire(ctx); err != nil {
		return err
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
	b.observe(ctx, err, start, end, inFlight)
	return err
}

// observe reports one finished call to the Limit and applies the limit it
// returns. Nothing is reported when the caller's own ctx is done: the
// caller left, which says nothing of the dependency. An inner deadline or
// an inner refusal is a sign of overload (Dropped).
func (b *Bulkhead) observe(ctx context.Context, err error, start, end int64, inFlight int) {
	if ctx.Err() != nil {
		return
	}
	dropped := err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, watertight.ErrRejected))
	n := b.adaptive.limit.Observe(adaptive.Sample{
		Start:    time.Duration(start),
		RTT:      time.Duration(end - start),
		InFlight: inFlight,
		Dropped:  dropped,
	})
	n = min(max(n, 1), int(b.adaptive.ceiling.Load()))
	if n != state(b.state.Load()).limit() {
		b.setLimit(n)
	}
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
			b.observe(ctx, nil, start, end, inFlight)
		}
	}
}
