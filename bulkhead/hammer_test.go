package bulkhead_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/bulkhead"
)

// hammer drives b from many goroutines with every kind of outcome mixed in
// and checks, with atomics, what must never happen.
func hammer(t *testing.T, b *bulkhead.Bulkhead, maxLimit, maxQueue int, resize bool) {
	var (
		running, peakRunning atomic.Int64
		held                 atomic.Int64 // slots taken minus slots released, as the callers see it
		granted              atomic.Uint64
		violations           atomic.Int64
		wg                   sync.WaitGroup
		stop                 = make(chan struct{})
	)
	enter := func() {
		granted.Add(1)
		held.Add(1)
		n := running.Add(1)
		if int(n) > maxLimit {
			violations.Add(1)
		}
		for p := peakRunning.Load(); n > p && !peakRunning.CompareAndSwap(p, n); p = peakRunning.Load() {
		}
		for range rand.IntN(3) {
			runtime.Gosched()
		}
	}
	leave := func() { running.Add(-1); held.Add(-1) }

	// Watch the gauges while it runs.
	var monitor sync.WaitGroup
	monitor.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			st := b.Stats()
			if st.Waiting > maxQueue || st.InFlight > maxLimit {
				violations.Add(1)
			}
			runtime.Gosched()
		}
	})
	if resize {
		monitor.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				assert.NoError(t, b.SetMaxConcurrent(1+i%maxLimit))
				runtime.Gosched()
			}
		})
	}

	errBoom := errors.New("boom")
	const goroutines, iterations = 24, 300
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			for range iterations {
				ctx, cancel := context.WithCancel(context.Background())
				switch rng.IntN(4) {
				case 0: // the caller goes away at some point
					spins := rng.IntN(4)
					go func() {
						for range spins {
							runtime.Gosched()
						}
						cancel()
					}()
				case 1: // a short deadline
					ctx, cancel = context.WithTimeout(ctx, time.Duration(rng.IntN(50))*time.Microsecond)
				}
				var err error
				switch rng.IntN(5) {
				case 0:
					err = b.Do(ctx, func(context.Context) error { enter(); leave(); return nil })
				case 1:
					err = b.Do(ctx, func(context.Context) error { enter(); leave(); return errBoom })
					if err != nil && !errors.Is(err, errBoom) && !errors.Is(err, watertight.ErrRejected) && ctx.Err() == nil {
						t.Errorf("unexpected error %v", err)
					}
				case 2:
					func() {
						defer func() {
							if r := recover(); r != nil && r != "hammer" {
								t.Errorf("panic value changed: %v", r)
							}
						}()
						err = b.Do(ctx, func(context.Context) error { enter(); defer leave(); panic("hammer") })
					}()
				case 3:
					var release func()
					if release, err = b.Acquire(ctx); err == nil {
						enter()
						leave()
						release()
						release() // idempotent
					}
				case 4:
					if release, ok := b.TryAcquire(); ok {
						enter()
						leave()
						release()
					}
				}
				if err != nil && !errors.Is(err, watertight.ErrRejected) && !errors.Is(err, context.Canceled) &&
					!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, errBoom) {
					t.Errorf("unexpected error %v", err)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	close(stop)
	monitor.Wait()

	t.Logf("%+v", b.Stats())
	assert.Zero(t, violations.Load(), "limit or queue bound exceeded")
	assert.Zero(t, held.Load())
	assert.LessOrEqual(t, int(peakRunning.Load()), maxLimit)
	st := b.Stats()
	assert.Zero(t, st.InFlight, "a permit was lost")
	assert.Zero(t, st.Waiting, "a waiter was lost")
	assert.Equal(t, granted.Load(), st.Acquired, "every granted slot is counted once")
	require.NoError(t, b.SetMaxConcurrent(maxLimit))
	// Every slot is still usable afterwards.
	var releases []func()
	for range maxLimit {
		r, ok := b.TryAcquire()
		require.True(t, ok)
		releases = append(releases, r)
	}
	for _, r := range releases {
		r()
	}
}

func TestHammer(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 4, MaxQueue: 6, MaxWait: time.Millisecond})
	hammer(t, b, 4, 6, false)
}

func TestHammerWhileResizing(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 3, MaxQueue: 10, MaxWait: 2 * time.Millisecond})
	hammer(t, b, 8, 10, true)
}

func TestHammerUnboundedWait(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 2, MaxQueue: 30})
	hammer(t, b, 2, 30, false)
}
