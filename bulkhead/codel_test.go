package bulkhead_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/bulkhead"
)

// queued starts a caller that waits for b's slot and records, when it
// gets one, its name; it returns the caller's result channel.
func queued(b *bulkhead.Bulkhead, name string, order *[]string, mu *sync.Mutex, ctx context.Context) chan error {
	done := make(chan error, 1)
	go func() {
		done <- b.Do(ctx, func(context.Context) error {
			mu.Lock()
			*order = append(*order, name)
			mu.Unlock()
			return nil
		})
	}()
	return done
}

func TestCoDelSpecification(t *testing.T) {
	t.Run("FIFO while the queue keeps emptying", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 10, Queue: bulkhead.CoDel})
			release, err := b.Acquire(t.Context())
			require.NoError(t, err)
			var order []string
			var mu sync.Mutex
			var done []chan error
			for _, name := range []string{"a", "b", "c"} {
				done = append(done, queued(b, name, &order, &mu, t.Context()))
				<-time.After(10 * time.Millisecond) // each has waited longer than the target
			}
			assert.False(t, b.Stats().Controlled, "30 ms is not an interval")
			release()
			for _, d := range done {
				assert.NoError(t, <-d)
			}
			assert.Equal(t, []string{"a", "b", "c"}, order)
			assert.Zero(t, b.Stats().Shed)
		})
	})
	t.Run("a waiter may wait an interval in a queue that does not stand", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 10, Queue: bulkhead.CoDel})
			release, err := b.Acquire(t.Context())
			require.NoError(t, err)
			defer release()
			start := time.Now()
			err = b.Do(t.Context(), func(context.Context) error { return nil })
			assert.ErrorIs(t, err, bulkhead.ErrWaitTimeout)
			assert.Equal(t, 100*time.Millisecond, time.Since(start))
			assert.Equal(t, uint64(1), b.Stats().Shed)
		})
	})
	t.Run("newest first once it stands; waiters over the target shed, those under it not", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 10, Queue: bulkhead.CoDel})
			release, err := b.Acquire(t.Context())
			require.NoError(t, err)
			var order []string
			var mu sync.Mutex
			old1 := queued(b, "old1", &order, &mu, t.Context()) // t=0: the queue stops emptying
			<-time.After(60 * time.Millisecond)
			old2 := queued(b, "old2", &order, &mu, t.Context())
			<-time.After(90 * time.Millisecond) // t=150 ms: it has stood since 100 ms
			assert.ErrorIs(t, <-old1, bulkhead.ErrWaitTimeout, "old1 waited its interval")
			assert.ErrorIs(t, <-old2, bulkhead.ErrWaitTimeout, "old2 was held to the target once the queue stood, at 100 ms")
			assert.True(t, b.Stats().Controlled, "emptied by refusals 50 ms ago: it still stands")
			var fresh []chan error
			for _, name := range []string{"x", "y", "z"} {
				fresh = append(fresh, queued(b, name, &order, &mu, t.Context()))
				<-time.After(time.Millisecond)
			}
			release() // t=153 ms: x, y, z (3, 2, 1 ms) are under the target
			for _, d := range fresh {
				assert.NoError(t, <-d)
			}
			assert.Equal(t, []string{"z", "y", "x"}, order, "newest first")
			st := b.Stats()
			assert.Equal(t, uint64(2), st.Shed)
			assert.False(t, st.Controlled, "the queue emptied by serving")

			// Back to first in, first out.
			release, err = b.Acquire(t.Context())
			require.NoError(t, err)
			order = nil
			a, c := queued(b, "a", &order, &mu, t.Context()), chan error(nil)
			<-time.After(time.Millisecond)
			c = queued(b, "c", &order, &mu, t.Context())
			<-time.After(time.Millisecond)
			release()
			require.NoError(t, <-a)
			require.NoError(t, <-c)
			assert.Equal(t, []string{"a", "c"}, order)
		})
	})
	t.Run("MaxWait and ctx still win when shorter", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 10, MaxWait: 30 * time.Millisecond, Queue: bulkhead.CoDel})
			release, err := b.Acquire(t.Context())
			require.NoError(t, err)
			defer release()
			start := time.Now()
			assert.ErrorIs(t, b.Do(t.Context(), func(context.Context) error { return nil }), bulkhead.ErrWaitTimeout)
			assert.Equal(t, 30*time.Millisecond, time.Since(start))
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
			defer cancel()
			assert.ErrorIs(t, b.Do(ctx, func(context.Context) error { return nil }), context.DeadlineExceeded)
			st := b.Stats()
			assert.Equal(t, uint64(1), st.TimedOut)
			assert.Equal(t, uint64(1), st.Canceled)
			assert.Zero(t, st.Shed)
		})
	})
}

func TestCoDelConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  bulkhead.Config
		want string
	}{
		{bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, Queue: 7}, "bulkhead: Config.Queue must be FIFO or CoDel, got QueueDiscipline(7)"},
		{bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, CoDelTarget: time.Millisecond}, "bulkhead: Config.CoDelTarget (1ms) and CoDelInterval (0s) are set but Config.Queue is FIFO; set Queue: CoDel"},
		{bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, Queue: bulkhead.CoDel, CoDelTarget: -1}, "bulkhead: Config.CoDelTarget must be >= 0, got -1ns"},
		{bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, Queue: bulkhead.CoDel, CoDelInterval: -1}, "bulkhead: Config.CoDelInterval must be >= 0, got -1ns"},
		{bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, Queue: bulkhead.CoDel, CoDelTarget: 200 * time.Millisecond}, "bulkhead: Config.CoDelTarget (200ms) must be less than Config.CoDelInterval (100ms)"},
		{bulkhead.Config{MaxConcurrent: 1, Queue: bulkhead.CoDel}, "bulkhead: Config.Queue is CoDel but MaxQueue is 0: no caller can wait; set MaxQueue"},
	} {
		_, err := bulkhead.New(tc.cfg)
		assert.EqualError(t, err, tc.want)
	}
	assert.Equal(t, "CoDel", bulkhead.CoDel.String())
}

// Many goroutines through a CoDel bulkhead, with deadlines and
// cancellations: no slot is lost, no waiter is left blocked, and every
// call is counted once.
func TestCoDelHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 4, MaxQueue: 64, Queue: bulkhead.CoDel, CoDelTarget: 2 * time.Millisecond, CoDelInterval: 20 * time.Millisecond})
		var mu sync.Mutex
		calls, running, peak := 0, 0, 0
		var wg sync.WaitGroup
		for g := range 32 {
			wg.Go(func() {
				for i := range 100 {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+(g*7+i)%30)*time.Millisecond)
					mu.Lock()
					calls++
					mu.Unlock()
					_ = b.Do(ctx, func(context.Context) error {
						mu.Lock()
						running++
						peak = max(peak, running)
						mu.Unlock()
						<-time.After(time.Duration(1+i%3) * time.Millisecond)
						mu.Lock()
						running--
						mu.Unlock()
						return nil
					})
					cancel()
				}
			})
		}
		wg.Wait()
		st := b.Stats()
		assert.Zero(t, st.InFlight)
		assert.Zero(t, st.Waiting)
		assert.LessOrEqual(t, peak, 4)
		assert.Equal(t, uint64(calls), st.Acquired+st.Rejected+st.TimedOut+st.Canceled+st.Shed)
		assert.Positive(t, st.Shed)
		t.Logf("%d calls: acquired %d, shed %d, canceled %d, rejected %d", calls, st.Acquired, st.Shed, st.Canceled, st.Rejected)
	})
}

// The incident's own case: the dependency hangs and every slot is held, so
// no slot ever frees. Once the queue has stood an interval, every waiter is
// held to the target all the same: the first waiters are refused when
// the queue begins to stand (not each a whole interval after it arrived),
// and one that arrives while the pressure lasts is refused after the
// target — a queue emptied by refusals still stands, for an interval. A
// waiter that comes after a quiet interval may wait an interval again.
func TestCoDelShedsWhenEverySlotIsHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 2, MaxQueue: 10, Queue: bulkhead.CoDel})
		hung := make(chan struct{})
		for range 2 {
			go func() { _ = b.Do(t.Context(), func(context.Context) error { <-hung; return nil }) }()
		}
		synctest.Wait()
		type result struct {
			arrived, waited time.Duration
			err             error
		}
		want := map[time.Duration]time.Duration{
			0:                      100 * time.Millisecond, // the queue stands at 100 ms: past the target already
			50 * time.Millisecond:  50 * time.Millisecond,
			90 * time.Millisecond:  10 * time.Millisecond,
			150 * time.Millisecond: bulkhead.DefaultCoDelTarget, // emptied by refusals 50 ms ago: still standing
			200 * time.Millisecond: bulkhead.DefaultCoDelTarget,
			400 * time.Millisecond: 100 * time.Millisecond, // after a quiet interval: an interval again
		}
		results := make(chan result, len(want))
		for at := range want {
			go func() {
				<-time.After(at)
				t0 := time.Now()
				err := b.Do(t.Context(), func(context.Context) error { return nil })
				results <- result{at, time.Since(t0), err}
			}()
		}
		for range want {
			r := <-results
			assert.ErrorIs(t, r.err, bulkhead.ErrWaitTimeout, "arrived at %v", r.arrived)
			assert.Equal(t, want[r.arrived], r.waited, "arrived at %v", r.arrived)
		}
		assert.Equal(t, uint64(len(want)), b.Stats().Shed)
		close(hung)
	})
}
