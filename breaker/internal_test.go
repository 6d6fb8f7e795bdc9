package breaker

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
)

// TestHammerHalfOpenNeverAdmitsMoreThanHalfOpenCalls drives a breaker that
// cycles quickly through its states from many goroutines, with failures,
// panics and ignored calls mixed in. It goes through admit and record, the
// two halves of Do, so that it can see which period admitted each call.
func TestHammerHalfOpenNeverAdmitsMoreThanHalfOpenCalls(t *testing.T) {
	const probes = 3
	b := MustNew(Config{
		WindowCalls: 10, MinCalls: 5, HalfOpenCalls: probes,
		OpenBackoff: backoff.NewConstantBackOff(50 * time.Microsecond),
	})
	var (
		out       sync.Map // *period → *atomic.Int64: its probes out now
		maxOut    atomic.Int64
		halfOpens atomic.Int64
	)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 3000 {
				p, start, err := b.admit()
				if err != nil {
					continue
				}
				var n *atomic.Int64
				if p.state == HalfOpen {
					v, _ := out.LoadOrStore(p, new(atomic.Int64))
					n = v.(*atomic.Int64)
					now := n.Add(1)
					for m := maxOut.Load(); now > m && !maxOut.CompareAndSwap(m, now); m = maxOut.Load() {
					}
					halfOpens.Add(1)
				}
				runtime.Gosched() // let others in while this call is out
				release := func() {
					if n != nil {
						n.Add(-1)
					}
				}
				switch rng.IntN(5) {
				case 0, 1:
					release()
					b.record(p, start, 0)
				case 2:
					release()
					b.record(p, start, failed)
				case 3: // a panic in Do's fn
					func() {
						defer func() { _ = recover() }()
						_ = b.Do(context.Background(), func(context.Context) error { panic("x") })
					}()
					release()
					b.ignore(p)
				case 4: // the caller went away
					release()
					if o, ok := b.classify(context.Canceled, nil); ok {
						b.record(p, start, o)
					} else {
						b.ignore(p)
					}
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, maxOut.Load(), int64(probes))
	assert.Positive(t, halfOpens.Load(), "the hammer reached half-open")
	st := b.Stats()
	assert.Zero(t, st.HalfOpenProbes, "after all calls ended no probe slot is held: %+v", st)
	t.Logf("%+v; probes admitted %d, most out at once %d", st, halfOpens.Load(), maxOut.Load())
}

// TestTotalsStayExactWhenTheWindowIsFullOfSuccesses checks the totals when
// most calls take the fast path that leaves a full window of successes
// alone: every call is counted once, from many goroutines at once, and a
// failure after the run lands in the window as the newest call.
func TestTotalsStayExactWhenTheWindowIsFullOfSuccesses(t *testing.T) {
	b := MustNew(Config{WindowCalls: 10, MinCalls: 10, FailureRate: 0.5})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				_ = b.Do(context.Background(), func(context.Context) error { return nil })
			}
		})
	}
	wg.Wait()
	st := b.Stats()
	assert.Equal(t, uint64(8000), st.Successes)
	assert.Equal(t, int64(10), st.WindowCalls)
	assert.Zero(t, st.WindowFailures)

	for range 4 {
		_ = b.Do(context.Background(), func(context.Context) error { return errInternalDown })
	}
	st = b.Stats()
	assert.Equal(t, Closed, st.State)
	assert.Equal(t, [3]int64{10, 4, 0}, [3]int64{st.WindowCalls, st.WindowFailures, st.WindowSlowCalls})
	assert.Equal(t, uint64(8000), st.Successes)
	assert.Equal(t, uint64(4), st.Failures)
	_ = b.Do(context.Background(), func(context.Context) error { return errInternalDown })
	assert.Equal(t, Open, b.State(), "5 of the last 10")
	for range 3 {
		_ = b.Do(context.Background(), func(context.Context) error { return nil })
	}
	assert.Equal(t, uint64(3), b.Stats().Rejected)
}

var errInternalDown = errors.New("down")

func TestEachStripeIsACacheLine(t *testing.T) {
	b := MustNew(Config{})
	assert.Equal(t, uintptr(64), unsafe.Sizeof(stripe{}))
	assert.Zero(t, uintptr(unsafe.Pointer(b.stripes))%64, "the stripes start on a line")
}
