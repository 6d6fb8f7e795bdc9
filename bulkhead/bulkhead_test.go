package bulkhead_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/bulkhead"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ watertight.Policy = (*bulkhead.Bulkhead)(nil)

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  bulkhead.Config
		want string
	}{
		{bulkhead.Config{}, "bulkhead: Config.MaxConcurrent must be > 0, got 0"},
		{bulkhead.Config{MaxConcurrent: -3}, "bulkhead: Config.MaxConcurrent must be > 0, got -3"},
		{bulkhead.Config{MaxConcurrent: bulkhead.MaxLimit + 1}, "bulkhead: Config.MaxConcurrent must be <= 1048575, got 1048576"},
		{bulkhead.Config{MaxConcurrent: 1, MaxQueue: -1}, "bulkhead: Config.MaxQueue must be >= 0, got -1"},
		{bulkhead.Config{MaxConcurrent: 1, MaxQueue: bulkhead.MaxQueueLimit + 1}, "bulkhead: Config.MaxQueue must be <= 262143, got 262144"},
		{bulkhead.Config{MaxConcurrent: 1, MaxWait: -time.Second}, "bulkhead: Config.MaxWait must be >= 0, got -1s"},
		{bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, MaxWait: 10}, "bulkhead: Config.MaxWait must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, Queue: bulkhead.CoDel, CoDelTarget: 5}, "bulkhead: Config.CoDelTarget must be 0 or at least 1ms, got 5ns (a bare number is nanoseconds: write 5 * time.Millisecond)"},
		{bulkhead.Config{MaxConcurrent: 1, MaxWait: time.Second}, "bulkhead: Config.MaxWait is 1s but MaxQueue is 0: no caller can wait; set MaxQueue, or leave MaxWait 0"},
	} {
		b, err := bulkhead.New(tc.cfg)
		assert.Nil(t, b)
		assert.EqualError(t, err, tc.want)
		assert.PanicsWithError(t, tc.want, func() { bulkhead.MustNew(tc.cfg) })
	}
	b, err := bulkhead.New(bulkhead.Config{Name: "db", MaxConcurrent: bulkhead.MaxLimit, MaxQueue: bulkhead.MaxQueueLimit})
	require.NoError(t, err)
	assert.Equal(t, "db", b.Name())
	assert.Equal(t, bulkhead.MaxLimit, b.Stats().MaxConcurrent)
}

func TestDoReturnsFnError(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	boom := errors.New("boom")
	assert.Same(t, boom, b.Do(t.Context(), func(context.Context) error { return boom }))
	assert.NoError(t, b.Do(t.Context(), func(context.Context) error { return nil }))
	st := b.Stats()
	assert.Equal(t, uint64(2), st.Acquired)
	assert.Zero(t, st.InFlight)
}

func TestDoPassesCallersContext(t *testing.T) {
	type key struct{}
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	ctx := context.WithValue(t.Context(), key{}, "v")
	require.NoError(t, b.Do(ctx, func(got context.Context) error {
		assert.Equal(t, "v", got.Value(key{}))
		return nil
	}))
}

func TestNilFnIsAnError(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	assert.EqualError(t, b.Do(t.Context(), nil), "bulkhead: Do called with a nil fn")
	assert.Zero(t, b.Stats().InFlight)
}

func TestFullWithoutQueueRejectsAtOnce(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 1})
	release, err := b.Acquire(t.Context())
	require.NoError(t, err)
	called := false
	err = b.Do(t.Context(), func(context.Context) error { called = true; return nil })
	assert.False(t, called)
	assert.ErrorIs(t, err, bulkhead.ErrFull)
	assert.ErrorIs(t, err, watertight.ErrRejected)
	assert.NotErrorIs(t, err, bulkhead.ErrWaitTimeout)
	assert.EqualError(t, err, `bulkhead "payments": full`)
	release()
	assert.Equal(t, uint64(1), b.Stats().Rejected)
}

func TestDoneContextIsRefusedWithoutTakingASlot(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := b.Do(ctx, func(context.Context) error { t.Error("fn called"); return nil })
	assert.ErrorIs(t, err, context.Canceled)
	st := b.Stats()
	assert.Equal(t, uint64(1), st.Canceled)
	assert.Zero(t, st.Acquired)
	assert.Zero(t, st.InFlight)
}

func TestPanicReleasesSlotAndReachesCaller(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	type myPanic struct{ n int }
	value := &myPanic{7}
	func() {
		defer func() { assert.Same(t, value, recover()) }()
		_ = b.Do(t.Context(), func(context.Context) error { panic(value) })
	}()
	assert.Zero(t, b.Stats().InFlight)
	assert.NoError(t, b.Do(t.Context(), func(context.Context) error { return nil }))
}

func TestReleaseTwiceReleasesOnce(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 2})
	r1, err := b.Acquire(t.Context())
	require.NoError(t, err)
	r2, err := b.Acquire(t.Context())
	require.NoError(t, err)
	r1()
	r1()
	assert.Equal(t, 1, b.Stats().InFlight, "the second release of r1 must not free r2's slot")
	r2()
	assert.Zero(t, b.Stats().InFlight)
}

func TestTryAcquireNeverWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1})
		release, ok := b.TryAcquire()
		require.True(t, ok)
		_, ok = b.TryAcquire()
		assert.False(t, ok, "full")

		go func() { _ = b.Do(t.Context(), func(context.Context) error { return nil }) }()
		synctest.Wait() // queued
		release()
		synctest.Wait()

		// A free slot but a queued caller: TryAcquire does not jump the queue.
		hold, _ := b.TryAcquire()
		go func() { _ = b.Do(t.Context(), func(context.Context) error { return nil }) }()
		synctest.Wait()
		_, ok = b.TryAcquire()
		assert.False(t, ok)
		hold()
		synctest.Wait()
		st := b.Stats()
		assert.Equal(t, uint64(2), st.Rejected)
		assert.Zero(t, st.InFlight)
		assert.Zero(t, st.Waiting)
	})
}

func TestWaitersAreServedFirstInFirstOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 5})
		release, err := b.Acquire(t.Context())
		require.NoError(t, err)
		order := make(chan int, 5)
		for i := range 5 {
			go func() {
				_ = b.Do(t.Context(), func(context.Context) error { order <- i; return nil })
			}()
			synctest.Wait() // queued before the next one arrives
		}
		assert.Equal(t, 5, b.Stats().Waiting)
		release()
		synctest.Wait()
		close(order)
		var got []int
		for i := range order {
			got = append(got, i)
		}
		assert.Equal(t, []int{0, 1, 2, 3, 4}, got)
	})
}

func TestQueueIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 2})
		release, _ := b.Acquire(t.Context())
		for range 2 {
			go func() { _ = b.Do(t.Context(), func(context.Context) error { return nil }) }()
		}
		synctest.Wait()
		err := b.Do(t.Context(), func(context.Context) error { return nil })
		assert.ErrorIs(t, err, bulkhead.ErrFull)
		assert.Equal(t, 2, b.Stats().Waiting)
		release()
		synctest.Wait()
		assert.Zero(t, b.Stats().Waiting)
	})
}

func TestMaxWaitExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 1, MaxQueue: 1, MaxWait: 50 * time.Millisecond})
		release, _ := b.Acquire(t.Context())
		start := time.Now()
		err := b.Do(t.Context(), func(context.Context) error { t.Error("fn called"); return nil })
		assert.Equal(t, 50*time.Millisecond, time.Since(start))
		assert.ErrorIs(t, err, bulkhead.ErrWaitTimeout)
		assert.ErrorIs(t, err, watertight.ErrRejected)
		assert.EqualError(t, err, `bulkhead "db": wait timeout`)
		st := b.Stats()
		assert.Equal(t, uint64(1), st.TimedOut)
		assert.Zero(t, st.Waiting)
		release()
		assert.Zero(t, b.Stats().InFlight, "the expired waiter holds nothing")

		// A waiter served before MaxWait is not affected by its timer later.
		release, _ = b.Acquire(t.Context())
		time.AfterFunc(20*time.Millisecond, release)
		require.NoError(t, b.Do(t.Context(), func(context.Context) error {
			<-time.After(time.Second) // run long past MaxWait
			return nil
		}))
		assert.Equal(t, uint64(1), b.Stats().TimedOut, "only the first waiter timed out")
	})
}

func TestWaiterWhoseContextEndsHoldsNothingAndTheNextIsServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 2})
		release, _ := b.Acquire(t.Context())

		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan error, 1)
		go func() { first <- b.Do(ctx, func(context.Context) error { return nil }) }()
		synctest.Wait()
		secondRan := make(chan struct{})
		go func() {
			_ = b.Do(t.Context(), func(context.Context) error { close(secondRan); return nil })
		}()
		synctest.Wait()

		cancel()
		assert.ErrorIs(t, <-first, context.Canceled)
		assert.Equal(t, 1, b.Stats().Waiting)
		release()
		<-secondRan
		synctest.Wait()
		st := b.Stats()
		assert.Zero(t, st.InFlight)
		assert.Zero(t, st.Waiting)
		assert.Equal(t, uint64(1), st.Canceled)
		assert.Equal(t, uint64(2), st.Acquired)
	})
}

func TestCallerDeadlineWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1, MaxWait: time.Hour})
		release, _ := b.Acquire(t.Context())
		defer release()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		err := b.Do(ctx, func(context.Context) error { return nil })
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, watertight.ErrRejected, "the caller's own deadline is not a rejection")
	})
}

func TestWaitIsMeasured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1})
		require.NoError(t, b.Do(t.Context(), func(context.Context) error { return nil })) // no wait
		release, _ := b.Acquire(t.Context())                                              // no wait
		time.AfterFunc(100*time.Millisecond, release)
		require.NoError(t, b.Do(t.Context(), func(context.Context) error { return nil })) // waits 100ms
		w := b.Stats().Wait
		assert.Equal(t, uint64(3), w.Count)
		assert.Equal(t, 100*time.Millisecond, w.Max)
		assert.Equal(t, 100*time.Millisecond, w.Total)
		assert.Zero(t, w.Quantile(0.5))
		assert.Equal(t, 100*time.Millisecond, w.Quantile(1))
	})
}

func TestSetMaxConcurrent(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	for _, n := range []int{0, -1, bulkhead.MaxLimit + 1} {
		assert.ErrorContains(t, b.SetMaxConcurrent(n), "bulkhead: SetMaxConcurrent: n must be in 1..1048575, got ")
	}
	assert.Equal(t, 1, b.Stats().MaxConcurrent)
}

func TestGrowingAdmitsWaitersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 10})
		release, _ := b.Acquire(t.Context())
		defer release()
		hold := make(chan struct{})
		for range 4 {
			go func() { _ = b.Do(t.Context(), func(context.Context) error { <-hold; return nil }) }()
		}
		synctest.Wait()
		assert.Equal(t, 4, b.Stats().Waiting)
		require.NoError(t, b.SetMaxConcurrent(4))
		synctest.Wait()
		st := b.Stats()
		assert.Equal(t, 4, st.InFlight)
		assert.Equal(t, 1, st.Waiting)
		close(hold)
		synctest.Wait()
		assert.Equal(t, 1, b.Stats().InFlight)
	})
}

func TestShrinkingLetsInFlightFinishAndAdmitsNobodyUntilBelow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 3, MaxQueue: 10})
		var releases []func()
		for range 3 {
			r, err := b.Acquire(t.Context())
			require.NoError(t, err)
			releases = append(releases, r)
		}
		require.NoError(t, b.SetMaxConcurrent(1))
		admitted := make(chan struct{})
		go func() { _ = b.Do(t.Context(), func(context.Context) error { close(admitted); return nil }) }()
		synctest.Wait()
		_, ok := b.TryAcquire()
		assert.False(t, ok)

		releases[0]() // 2 in flight, limit 1: nobody admitted
		synctest.Wait()
		assert.Equal(t, 2, b.Stats().InFlight)
		assert.Equal(t, 1, b.Stats().Waiting)
		releases[1]() // 1 in flight, limit 1: still nobody
		synctest.Wait()
		assert.Equal(t, 1, b.Stats().Waiting)
		select {
		case <-admitted:
			t.Fatal("admitted above the new limit")
		default:
		}
		releases[2]() // now below: the waiter goes in
		<-admitted
		synctest.Wait()
		assert.Zero(t, b.Stats().InFlight)
	})
}

// Grants are counted in the state word and moved out every 64; none is lost
// or counted twice across that move.
func TestAcquiredCountsEveryGrant(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 3})
	prev := uint64(0)
	for i := range 1000 {
		switch i % 3 {
		case 0:
			require.NoError(t, b.Do(t.Context(), func(context.Context) error { return nil }))
		case 1:
			r, err := b.Acquire(t.Context())
			require.NoError(t, err)
			r()
		case 2:
			r, ok := b.TryAcquire()
			require.True(t, ok)
			r()
		}
		st := b.Stats()
		require.Equal(t, prev+1, st.Acquired, "after %d grants", i+1)
		require.Equal(t, st.Acquired, st.Wait.Count)
		prev = st.Acquired
	}
}

// A zero Bulkhead has no limit: every call gets a clear error and none runs
// fn, from many goroutines at once (it used to grant slots it did not have
// and crash in the wait queue).
func TestZeroBulkheadRefusesEveryCall(t *testing.T) {
	var b bulkhead.Bulkhead
	const want = "bulkhead: Bulkhead not created with New"
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 100 {
				err := b.Do(t.Context(), func(context.Context) error {
					t.Error("fn ran under a zero Bulkhead")
					return nil
				})
				assert.EqualError(t, err, want)
				release, err := b.Acquire(t.Context())
				assert.Nil(t, release)
				assert.EqualError(t, err, want)
				_, ok := b.TryAcquire()
				assert.False(t, ok)
			}
		}()
	}
	for range 8 {
		<-done
	}
	assert.EqualError(t, b.SetMaxConcurrent(3), want)
	st := b.Stats()
	assert.Zero(t, st.InFlight)
	assert.Zero(t, st.MaxConcurrent)
}
