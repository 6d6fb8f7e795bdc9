package pool_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/pool"
)

// TestHammer mixes every way in: Submit, TrySubmit, Do and Go, tasks that
// panic, callers whose ctx is cancelled before or while their task is
// queued, and a Close in the middle. It checks the bounds while it runs and
// that every task is accounted for exactly once afterwards.
func TestHammer(t *testing.T) {
	const (
		workers   = 4
		queueSize = 3
		callers   = 16
		perCaller = 300
	)
	var panics atomic.Uint64
	p, err := pool.New(pool.Config{
		Workers: workers, QueueSize: queueSize,
		OnPanic: func(pool.PanicEvent) { panics.Add(1) },
	})
	require.NoError(t, err)

	var (
		running, maxRunning atomic.Int64
		ran                 [callers * perCaller]atomic.Int32
		accepted, refused   atomic.Uint64 // as the callers saw it, where they can tell
	)
	body := func(id int, panicking bool) {
		n := running.Add(1)
		for m := maxRunning.Load(); n > m && !maxRunning.CompareAndSwap(m, n); m = maxRunning.Load() {
		}
		ran[id].Add(1)
		runtime.Gosched()
		running.Add(-1)
		if panicking {
			panic("hammer")
		}
	}

	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			default:
			}
			st := p.Stats()
			if st.Busy > workers || st.Queued > queueSize {
				t.Errorf("Busy %d of %d, Queued %d of %d", st.Busy, workers, st.Queued, queueSize)
			}
			runtime.Gosched()
		}
	}()

	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for i := range perCaller {
				id := c*perCaller + i
				if c == 0 && i == perCaller/2 {
					assert.NoError(t, p.Close(context.Background()))
				}
				ctx, cancel := context.WithCancel(context.Background())
				switch rng.IntN(8) {
				case 0:
					cancel() // before the task is offered
				case 1:
					go cancel() // while it is offered or queued
				}
				panicking := rng.IntN(10) == 0
				var err error
				switch rng.IntN(4) {
				case 0:
					err = p.Submit(ctx, func(context.Context) { body(id, panicking) })
				case 1:
					err = p.TrySubmit(ctx, func(context.Context) { body(id, panicking) })
				case 2:
					func() {
						defer func() {
							if r := recover(); r != nil {
								var pe *pool.PanicError
								if !errors.As(r.(error), &pe) {
									t.Errorf("Do re-panicked with %v", r)
								}
							}
						}()
						err = p.Do(ctx, func(context.Context) error { body(id, panicking); return nil })
					}()
				case 3:
					var f *pool.Future[int]
					f, err = pool.Go(ctx, p, func(context.Context) (int, error) { body(id, panicking); return 1, nil })
					if err == nil {
						accepted.Add(1) // Go's error tells acceptance apart from the task's own end
						func() {
							defer func() { _ = recover() }()
							_, _ = f.Wait(context.Background())
						}()
						err = nil
					}
				}
				if errors.Is(err, pool.ErrFull) || errors.Is(err, pool.ErrClosed) {
					refused.Add(1)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Close(context.Background()))
	close(stopSampling)
	<-sampled

	st := p.Stats()
	assert.LessOrEqual(t, maxRunning.Load(), int64(workers))
	var ranOnce uint64
	for id := range ran {
		switch n := ran[id].Load(); n {
		case 0:
		case 1:
			ranOnce++
		default:
			t.Fatalf("task %d ran %d times", id, n)
		}
	}
	assert.Equal(t, ranOnce, st.Completed+st.Panicked, "every task that ran was counted once")
	assert.Equal(t, st.Submitted, st.Completed+st.Expired+st.Panicked, "every accepted task ended once")
	assert.Equal(t, uint64(callers*perCaller), st.Submitted+st.Rejected+st.Canceled, "every offer was counted once")
	assert.Equal(t, refused.Load(), st.Rejected)
	assert.LessOrEqual(t, accepted.Load(), st.Submitted)
	assert.LessOrEqual(t, panics.Load(), st.Panicked)
	assert.Zero(t, st.Busy)
	assert.Zero(t, st.Queued)
	t.Logf("submitted %d, completed %d, expired %d, panicked %d, rejected %d, canceled %d",
		st.Submitted, st.Completed, st.Expired, st.Panicked, st.Rejected, st.Canceled)
}
