package pool_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/pool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ watertight.Policy = (*pool.Pool)(nil)

var errBoom = errors.New("boom")

// newPool starts a pool that the test closes when it ends.
func newPool(t *testing.T, cfg pool.Config) *pool.Pool {
	t.Helper()
	p, err := pool.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close(context.Background())) })
	return p
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  pool.Config
		want string
	}{
		{pool.Config{}, "pool: Config.Workers must be in 1..16384, got 0"},
		{pool.Config{Workers: -2}, "pool: Config.Workers must be in 1..16384, got -2"},
		{pool.Config{Workers: 1_000_000}, "pool: Config.Workers must be in 1..16384, got 1000000"},
		{pool.Config{Workers: 1, QueueSize: 1, Queue: pool.CoDel, CoDelInterval: 50}, "pool: Config.CoDelInterval must be 0 or at least 1ms, got 50ns (a bare number is nanoseconds: write 50 * time.Millisecond)"},
		{pool.Config{Workers: 1, QueueSize: -1}, "pool: Config.QueueSize must be between 0 and 16777216, got -1"},
		{pool.Config{Workers: 1, QueueSize: pool.MaxQueueSize + 1}, "pool: Config.QueueSize must be between 0 and 16777216, got 16777217"},
	} {
		p, err := pool.New(tc.cfg)
		assert.Nil(t, p)
		assert.EqualError(t, err, tc.want)
		assert.PanicsWithError(t, tc.want, func() { pool.MustNew(tc.cfg) })
	}
}

func TestNilTaskIsAnError(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 1, QueueSize: 1})
	assert.EqualError(t, p.Submit(t.Context(), nil), "pool: nil task")
	assert.EqualError(t, p.TrySubmit(t.Context(), nil), "pool: nil task")
	assert.EqualError(t, p.Do(t.Context(), nil), "pool: nil task")
	_, err := pool.Go[int](t.Context(), p, nil)
	assert.EqualError(t, err, "pool: nil task")
	g, _ := pool.NewGroup(t.Context(), p)
	g.Go(nil)
	assert.EqualError(t, g.Wait(), "pool: nil task")
	assert.Zero(t, p.Stats().Submitted)
}

func TestSubmitRunsWithSubmittersContext(t *testing.T) {
	type key struct{}
	p := newPool(t, pool.Config{Workers: 2, QueueSize: 4})
	got := make(chan any, 1)
	ctx := context.WithValue(t.Context(), key{}, "v")
	require.NoError(t, p.Submit(ctx, func(ctx context.Context) { got <- ctx.Value(key{}) }))
	assert.Equal(t, "v", <-got)
}

func TestDoReturnsFnsError(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 1})
	assert.Same(t, errBoom, p.Do(t.Context(), func(context.Context) error { return errBoom }))
	assert.NoError(t, p.Do(t.Context(), func(context.Context) error { return nil }))
	st := p.Stats()
	assert.Equal(t, uint64(2), st.Submitted)
	assert.Equal(t, uint64(2), st.Completed)
}

// hold occupies every worker of p until the returned func is called.
func hold(t *testing.T, p *pool.Pool, workers int) (release func()) {
	t.Helper()
	gate := make(chan struct{})
	for range workers {
		require.NoError(t, p.Submit(context.Background(), func(context.Context) { <-gate }))
	}
	synctest.Wait()
	return func() { close(gate) }
}

func TestTrySubmitWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Name: "mail", Workers: 1, QueueSize: 1})
		defer p.Close(t.Context())
		release := hold(t, p, 1)
		require.NoError(t, p.TrySubmit(t.Context(), func(context.Context) {})) // queued
		err := p.TrySubmit(t.Context(), func(context.Context) { t.Error("ran") })
		assert.ErrorIs(t, err, pool.ErrFull)
		assert.ErrorIs(t, err, watertight.ErrRejected)
		assert.EqualError(t, err, `pool "mail": full`)
		st := p.Stats()
		assert.Equal(t, 1, st.Busy)
		assert.Equal(t, 1, st.Queued)
		assert.Equal(t, uint64(1), st.Rejected)
		release()
	})
}

func TestQueueSizeZeroHandsOnlyToAFreeWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Workers: 1})
		defer p.Close(t.Context())
		synctest.Wait() // the worker is waiting for work
		require.NoError(t, p.TrySubmit(t.Context(), func(context.Context) { elapse(time.Second) }))
		synctest.Wait()
		assert.ErrorIs(t, p.TrySubmit(t.Context(), func(context.Context) {}), pool.ErrFull)

		// Submit waits for the worker instead.
		start := time.Now()
		require.NoError(t, p.Submit(t.Context(), func(context.Context) {}))
		assert.Equal(t, time.Second, time.Since(start))
	})
}

func TestSubmitWaitsForRoomUntilCtxEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Workers: 1})
		defer p.Close(t.Context())
		release := hold(t, p, 1)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		err := p.Submit(ctx, func(context.Context) { t.Error("ran") })
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, uint64(1), p.Stats().Canceled)
		release()
	})
}

func TestEverySenderWaitingForRoomGetsIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Workers: 2, QueueSize: 3})
		release := hold(t, p, 2)
		var ran atomic.Int32
		for range 3 {
			require.NoError(t, p.TrySubmit(t.Context(), func(context.Context) { ran.Add(1) }))
		}
		// Eight senders wait for room; one of them gives up.
		short, cancel := context.WithCancel(t.Context())
		errs := make(chan error, 8)
		for i := range 8 {
			ctx := t.Context()
			if i == 0 {
				ctx = short
			}
			go func() { errs <- p.Submit(ctx, func(context.Context) { elapse(time.Millisecond); ran.Add(1) }) }()
		}
		synctest.Wait()
		assert.Equal(t, 3, p.Stats().Queued)
		cancel()
		assert.ErrorIs(t, <-errs, context.Canceled)

		release() // room appears three at a time: all seven get in
		for range 7 {
			assert.NoError(t, <-errs)
		}
		require.NoError(t, p.Close(t.Context()))
		st := p.Stats()
		assert.Equal(t, int32(10), ran.Load())
		assert.Equal(t, uint64(12), st.Submitted, "2 held, 3 queued, 7 that waited")
		assert.Equal(t, uint64(1), st.Canceled)
	})
}

func TestTaskWhoseCtxEndsWhileQueuedIsSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Workers: 1, QueueSize: 3})
		defer p.Close(t.Context())
		release := hold(t, p, 1)

		ctx, cancel := context.WithCancel(t.Context())
		require.NoError(t, p.Submit(ctx, func(context.Context) { t.Error("ran late") }))
		future, err := pool.Go(ctx, p, func(context.Context) (int, error) { t.Error("ran late"); return 1, nil })
		require.NoError(t, err)
		doErr := make(chan error, 1)
		go func() { doErr <- p.Do(ctx, func(context.Context) error { t.Error("ran late"); return nil }) }()
		synctest.Wait()
		assert.Equal(t, 3, p.Stats().Queued)

		cancel()
		assert.ErrorIs(t, <-doErr, context.Canceled, "Do leaves at once")
		release()
		_, err = future.Wait(t.Context())
		assert.ErrorIs(t, err, context.Canceled)
		synctest.Wait()
		st := p.Stats()
		assert.Equal(t, uint64(3), st.Expired)
		assert.Zero(t, st.Queued)
		assert.Equal(t, uint64(1), st.Completed, "only the task that held the worker")
	})
}

func TestQueueWaitIsMeasured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Workers: 1, QueueSize: 1})
		require.NoError(t, p.Submit(t.Context(), func(context.Context) { elapse(100 * time.Millisecond) }))
		require.NoError(t, p.Submit(t.Context(), func(context.Context) { elapse(10 * time.Millisecond) }))
		require.NoError(t, p.Close(t.Context()))
		st := p.Stats()
		assert.Equal(t, uint64(2), st.Wait.Count)
		assert.Equal(t, 100*time.Millisecond, st.Wait.Max, "the second task waited behind the first")
		assert.Equal(t, 100*time.Millisecond, st.Wait.Total)
		assert.Equal(t, 100*time.Millisecond, st.Run.Max)
		assert.Equal(t, 110*time.Millisecond, st.Run.Total)
	})
}

func TestDoRepanicsWithValueAndWorkerStack(t *testing.T) {
	p := newPool(t, pool.Config{Name: "img", Workers: 1})
	value := errors.New("bad pixel")
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_ = p.Do(t.Context(), func(context.Context) error { panic(value) })
	}()
	pe, ok := recovered.(*pool.PanicError)
	require.True(t, ok, "got %T", recovered)
	assert.Same(t, value, pe.Value)
	assert.ErrorIs(t, pe, value)
	assert.Contains(t, string(pe.Stack), "pool_test.TestDoRepanicsWithValueAndWorkerStack")
	assert.Contains(t, pe.Error(), `pool "img": task panicked: bad pixel`)
	// The worker lives on.
	assert.NoError(t, p.Do(t.Context(), func(context.Context) error { return nil }))
	assert.Equal(t, uint64(1), p.Stats().Panicked)
}

func TestSubmitPanicGoesToOnPanicAndWorkerLivesOn(t *testing.T) {
	events := make(chan pool.PanicEvent, 1)
	p := newPool(t, pool.Config{Name: "bg", Workers: 1, OnPanic: func(e pool.PanicEvent) { events <- e }})
	require.NoError(t, p.Submit(t.Context(), func(context.Context) { panic("oops") }))
	e := <-events
	assert.Equal(t, "bg", e.Name)
	assert.Equal(t, "oops", e.Value)
	assert.False(t, e.Goexit)
	assert.Contains(t, string(e.Stack), "pool_test.TestSubmitPanicGoesToOnPanicAndWorkerLivesOn")
	assert.NoError(t, p.Do(t.Context(), func(context.Context) error { return nil }))
	assert.Equal(t, uint64(1), p.Stats().Panicked)
}

func TestDefaultOnPanicLogsWithStack(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)

	p := pool.MustNew(pool.Config{Name: "bg", Workers: 1})
	require.NoError(t, p.Submit(t.Context(), func(context.Context) { panic("oops") }))
	require.NoError(t, p.Close(t.Context()))
	assert.Contains(t, buf.String(), `msg="pool: task panicked" name=bg panic=oops goexit=false stack=`)
	assert.Contains(t, buf.String(), "TestDefaultOnPanicLogsWithStack")
}

func TestGoexitNeitherKillsAWorkerSilentlyNorHangsAWaiter(t *testing.T) {
	events := make(chan pool.PanicEvent, 1)
	p := newPool(t, pool.Config{Workers: 1, QueueSize: 1, OnPanic: func(e pool.PanicEvent) { events <- e }})

	require.NoError(t, p.Submit(t.Context(), func(context.Context) { runtime.Goexit() }))
	assert.True(t, (<-events).Goexit)

	assert.EqualError(t, p.Do(t.Context(), func(context.Context) error { runtime.Goexit(); return nil }),
		"pool: task called runtime.Goexit")
	f, err := pool.Go(t.Context(), p, func(context.Context) (int, error) { runtime.Goexit(); return 0, nil })
	require.NoError(t, err)
	_, err = f.Wait(t.Context())
	assert.EqualError(t, err, "pool: task called runtime.Goexit")

	// The single worker was replaced each time.
	assert.NoError(t, p.Do(t.Context(), func(context.Context) error { return nil }))
	assert.Equal(t, uint64(3), p.Stats().Panicked)
}

func TestFuture(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Workers: 1})
		defer p.Close(t.Context())
		f, err := pool.Go(t.Context(), p, func(context.Context) (string, error) {
			elapse(100 * time.Millisecond)
			return "done", nil
		})
		require.NoError(t, err)

		// A Wait that gives up early neither cancels nor loses the result.
		short, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		_, err = f.Wait(short)
		assert.ErrorIs(t, err, context.DeadlineExceeded)

		v, err := f.Wait(t.Context())
		assert.NoError(t, err)
		assert.Equal(t, "done", v)
		<-f.Done()
		v, _ = f.Wait(t.Context())
		assert.Equal(t, "done", v)

		f2, _ := pool.Go(t.Context(), p, func(context.Context) (int, error) { return 0, errBoom })
		_, err = f2.Wait(t.Context())
		assert.Same(t, errBoom, err)
	})
}

func TestFutureRepanicsInEveryWait(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 1})
	f, err := pool.Go(t.Context(), p, func(context.Context) (int, error) { panic("kaboom") })
	require.NoError(t, err)
	for range 2 {
		func() {
			defer func() {
				pe, ok := recover().(*pool.PanicError)
				require.True(t, ok)
				assert.Equal(t, "kaboom", pe.Value)
			}()
			_, _ = f.Wait(t.Context())
		}()
	}
	assert.Equal(t, uint64(1), p.Stats().Panicked)
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Name: "jobs", Workers: 1, QueueSize: 1})
		var ran atomic.Int32
		require.NoError(t, p.Submit(t.Context(), func(context.Context) { elapse(100 * time.Millisecond); ran.Add(1) }))
		require.NoError(t, p.Submit(t.Context(), func(context.Context) { ran.Add(1) })) // queued
		waiting := make(chan error, 1)
		go func() { waiting <- p.Submit(t.Context(), func(context.Context) { ran.Add(1) }) }()
		synctest.Wait()

		// Close with a ctx that ends before the pool drains.
		short, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, p.Close(short), context.DeadlineExceeded)
		err := <-waiting
		assert.ErrorIs(t, err, pool.ErrClosed, "a caller waiting for room is released")
		assert.ErrorIs(t, err, watertight.ErrRejected)
		assert.EqualError(t, p.Submit(t.Context(), func(context.Context) {}), `pool "jobs": closed`)
		assert.ErrorIs(t, p.TrySubmit(t.Context(), func(context.Context) {}), pool.ErrClosed)
		assert.ErrorIs(t, p.Do(t.Context(), func(context.Context) error { return nil }), pool.ErrClosed)

		// A second Close waits for the drain and returns nil.
		require.NoError(t, p.Close(t.Context()))
		assert.Equal(t, int32(2), ran.Load(), "queued and running tasks finished")
		require.NoError(t, p.Close(t.Context()))
		st := p.Stats()
		assert.Equal(t, uint64(2), st.Completed)
		assert.Equal(t, uint64(4), st.Rejected)
	})
}

func TestLogPanicsToTheGivenLogger(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	p := pool.MustNew(pool.Config{Name: "bg", Workers: 1, OnPanic: pool.LogPanics(logger)})
	require.NoError(t, p.Submit(t.Context(), func(context.Context) { panic("oops") }))
	require.NoError(t, p.Close(t.Context()))
	assert.Contains(t, buf.String(), `"level":"ERROR","msg":"pool: task panicked","name":"bg","panic":"oops","goexit":false,"stack":"goroutine `)
}

// elapse lets d pass on the synctest clock: how a task takes its time.
func elapse(d time.Duration) { <-time.After(d) }
