package pool_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/retry"
)

// failures collects OnFailure's events.
type failures struct {
	mu  sync.Mutex
	got []pool.FailureEvent
}

func (f *failures) add(e pool.FailureEvent) { f.mu.Lock(); f.got = append(f.got, e); f.mu.Unlock() }

func (f *failures) all() []pool.FailureEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pool.FailureEvent(nil), f.got...)
}

var errSend = errors.New("smtp: connection refused")

// A task that fails is never silent: OnFailure hears of it, with how long
// it waited and ran, and Stats counts it.
func TestAFailedTaskGoesToOnFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got failures
		p := pool.MustNew(pool.Config{Name: "mail", Workers: 1, QueueSize: 4, OnFailure: got.add})
		defer p.Close(context.Background())
		block := make(chan struct{})
		require.NoError(t, p.Submit(context.Background(), func(context.Context) { <-block }))
		require.NoError(t, p.SubmitErr(context.Background(), func(context.Context) error {
			time.Sleep(30 * time.Millisecond) // the task's own work
			return errSend
		}))
		require.NoError(t, p.SubmitErr(context.Background(), func(context.Context) error { return nil }))
		time.Sleep(20 * time.Millisecond) // the worker is busy: the task waits
		close(block)
		require.NoError(t, p.Close(context.Background())) // every task done

		events := got.all()
		require.Len(t, events, 1, "the failed task, once; not the one that succeeded")
		assert.Equal(t, pool.FailureEvent{Name: "mail", Err: errSend, Attempts: 1, Waited: 20 * time.Millisecond, Ran: 30 * time.Millisecond}, events[0])
		st := p.Stats()
		assert.Equal(t, uint64(1), st.Failed)
		assert.Equal(t, uint64(3), st.Completed)
	})
}

// The default OnFailure is a slog error, the same shape as OnPanic's.
func TestTheDefaultOnFailureLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logged syncBuffer
		old := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
		defer slog.SetDefault(old)
		p := pool.MustNew(pool.Config{Name: "mail", Workers: 1})
		defer p.Close(context.Background())
		require.NoError(t, p.SubmitErr(context.Background(), func(context.Context) error { time.Sleep(5 * time.Millisecond); return errSend }))
		require.NoError(t, p.Close(context.Background()))
		assert.Contains(t, logged.String(), `level=ERROR msg="pool: task failed" name=mail err="smtp: connection refused" attempts=1 waited=0s ran=5ms timed_out=false`)
	})
}

// A task that never ran — its ctx ended while it was queued, or CoDel shed
// it — is reported too, with no attempts.
func TestATaskThatNeverRanGoesToOnFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got failures
		p := pool.MustNew(pool.Config{Name: "mail", Workers: 1, QueueSize: 4, OnFailure: got.add})
		defer p.Close(context.Background())
		block := make(chan struct{})
		require.NoError(t, p.Submit(context.Background(), func(context.Context) { <-block }))
		ctx, cancel := context.WithCancel(context.Background())
		ran := false
		require.NoError(t, p.SubmitErr(ctx, func(context.Context) error { ran = true; return nil }))
		cancel()
		time.Sleep(time.Millisecond)
		close(block)
		synctest.Wait()
		assert.False(t, ran)
		events := got.all()
		require.Len(t, events, 1)
		assert.Equal(t, pool.FailureEvent{Name: "mail", Err: context.Canceled, Attempts: 0, Waited: time.Millisecond}, events[0])
		assert.Equal(t, uint64(1), p.Stats().Expired)
		assert.Zero(t, p.Stats().Failed, "it did not run: Expired, not Failed")
	})
}

func TestATaskCoDelShedGoesToOnFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got failures
		p := pool.MustNew(pool.Config{Name: "mail", Workers: 1, QueueSize: 8, Queue: pool.CoDel, OnFailure: got.add})
		defer p.Close(context.Background())
		block := make(chan struct{})
		require.NoError(t, p.Submit(context.Background(), func(context.Context) { <-block }))
		for range 3 {
			require.NoError(t, p.SubmitErr(context.Background(), func(context.Context) error { return nil }))
		}
		time.Sleep(time.Second) // the queue stands, and nothing frees
		close(block)
		synctest.Wait()
		events := got.all()
		require.NotEmpty(t, events)
		for _, e := range events {
			assert.ErrorIs(t, e.Err, pool.ErrShed)
			assert.Zero(t, e.Attempts)
		}
		assert.Equal(t, uint64(len(events)), p.Stats().Shed)
	})
}

// TaskTimeout gives every task's ctx its deadline, exactly, and counts
// the tasks still running at it.
func TestTaskTimeoutIsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got failures
		p := pool.MustNew(pool.Config{Name: "hooks", Workers: 1, QueueSize: 4, TaskTimeout: 100 * time.Millisecond, OnFailure: got.add})
		defer p.Close(context.Background())
		var cause error
		require.NoError(t, p.SubmitErr(context.Background(), func(ctx context.Context) error {
			<-ctx.Done() // a webhook that hangs
			cause = context.Cause(ctx)
			return ctx.Err()
		}))
		synctest.Wait()
		require.NoError(t, p.Submit(context.Background(), func(ctx context.Context) { <-ctx.Done() }))
		err := p.Do(context.Background(), func(ctx context.Context) error {
			time.Sleep(40 * time.Millisecond) // done in time
			return ctx.Err()
		})
		require.NoError(t, err)
		err = p.Do(context.Background(), func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		require.ErrorIs(t, err, context.DeadlineExceeded)

		assert.Equal(t, pool.ErrTaskTimeout, cause)
		assert.ErrorIs(t, pool.ErrTaskTimeout, context.DeadlineExceeded)
		events := got.all()
		require.Len(t, events, 1)
		assert.Equal(t, pool.FailureEvent{Name: "hooks", Err: context.DeadlineExceeded, Attempts: 1, Ran: 100 * time.Millisecond, TimedOut: true}, events[0])
		st := p.Stats()
		assert.Equal(t, uint64(3), st.TimedOut, "the SubmitErr, Submit and Do tasks that ran into it; not the one done in 40 ms")
		assert.Equal(t, 100*time.Millisecond, st.Run.Max, "exactly the timeout")
	})
}

// Under a retrying Policy, a failed task is retried on its worker, and
// only one the retry gave up on is a failure.
func TestAPolicyRetriesAFailedTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got failures
		r := retry.MustNew(retry.Config{Name: "mail", MaxAttempts: 3, Backoff: func() backoff.BackOff { return backoff.NewConstantBackOff(10 * time.Millisecond) }})
		p := pool.MustNew(pool.Config{Name: "mail", Workers: 1, QueueSize: 4, Policy: r, OnFailure: got.add})
		tries := 0
		require.NoError(t, p.SubmitErr(context.Background(), func(context.Context) error {
			if tries++; tries < 3 {
				return errSend // fails twice, then goes through
			}
			return nil
		}))
		require.NoError(t, p.SubmitErr(context.Background(), func(context.Context) error { return errSend }))
		require.NoError(t, p.Close(context.Background()))
		assert.Equal(t, 3, tries)
		events := got.all()
		require.Len(t, events, 1, "only the task the retry gave up on")
		assert.ErrorIs(t, events[0].Err, errSend)
		assert.Equal(t, 3, events[0].Attempts)
		assert.Equal(t, 20*time.Millisecond, events[0].Ran, "two backoffs of 10 ms, held on the worker")
		assert.Equal(t, uint64(1), p.Stats().Failed)
	})
}

// The retries stay within the retry's budget: ten tasks that always fail,
// under a budget of one retry per ten requests, make at most one retry.
func TestAPolicyRetriesWithinItsBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got failures
		b, err := budget.New(budget.Config{Name: "mail", Ratio: 0.1, MinPerSecond: -1})
		require.NoError(t, err)
		r := retry.MustNew(retry.Config{Name: "mail", MaxAttempts: 3, Budget: b, Backoff: func() backoff.BackOff { return backoff.NewConstantBackOff(10 * time.Millisecond) }})
		p := pool.MustNew(pool.Config{Name: "mail", Workers: 1, QueueSize: 32, Policy: r, OnFailure: got.add})
		for range 10 {
			require.NoError(t, p.SubmitErr(context.Background(), func(context.Context) error { return errSend }))
		}
		require.NoError(t, p.Close(context.Background()))
		events := got.all()
		require.Len(t, events, 10, "every one the retry gave up on")
		attempts := 0
		for _, e := range events {
			assert.ErrorIs(t, e.Err, errSend)
			attempts += e.Attempts
		}
		t.Logf("ten failing tasks made %d attempts; the retry gave up %d times for its budget", attempts, r.Stats().GaveUp.Budget)
		assert.LessOrEqual(t, attempts, 11, "ten first attempts and the budget's one retry")
		assert.GreaterOrEqual(t, r.Stats().GaveUp.Budget, uint64(9))
		assert.Equal(t, uint64(10), p.Stats().Failed)
	})
}

// Under a breaker, a task the open breaker refuses is a failure too: it
// never ran, and nobody else would hear of it.
func TestATaskAnOpenBreakerRefusesGoesToOnFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got failures
		br := breaker.MustNew(breaker.Config{Name: "hooks", WindowCalls: 2, MinCalls: 2})
		p := pool.MustNew(pool.Config{Name: "hooks", Workers: 1, QueueSize: 8, Policy: watertight.Chain(br), OnFailure: got.add})
		defer p.Close(context.Background())
		for range 3 {
			require.NoError(t, p.SubmitErr(context.Background(), func(context.Context) error { return errSend }))
		}
		require.NoError(t, p.Close(context.Background()))
		events := got.all()
		require.Len(t, events, 3)
		assert.ErrorIs(t, events[2].Err, breaker.ErrOpen)
		assert.ErrorIs(t, events[2].Err, watertight.ErrRejected)
		assert.Zero(t, events[2].Attempts, "refused: it never ran")
	})
}

// An OnFailure that panics has no caller to go up to: it is logged, and
// the worker lives on, as with OnPanic.
func TestAPanickingOnFailureIsLoggedAndTheWorkerLivesOn(t *testing.T) {
	var logged syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	defer slog.SetDefault(old)
	p := pool.MustNew(pool.Config{Name: "mail", Workers: 1, QueueSize: 4, OnFailure: func(pool.FailureEvent) { panic("in OnFailure") }})
	defer p.Close(context.Background())
	require.NoError(t, p.SubmitErr(t.Context(), func(context.Context) error { return errSend }))
	require.NoError(t, p.Do(t.Context(), func(context.Context) error { return nil }), "the worker ran the next task")
	assert.Contains(t, logged.String(), "pool: OnFailure panicked")
	assert.Equal(t, 1, p.Stats().Workers)
}

// A task that can fail and panics goes to OnPanic, not nowhere.
func TestAFallibleTaskThatPanicsGoesToOnPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		panics := make(chan pool.PanicEvent, 1)
		p := pool.MustNew(pool.Config{Name: "mail", Workers: 1, OnPanic: func(e pool.PanicEvent) { panics <- e }})
		defer p.Close(context.Background())
		require.NoError(t, p.SubmitErr(context.Background(), func(context.Context) error { panic("boom") }))
		e := <-panics
		assert.Equal(t, "boom", e.Value)
		assert.Equal(t, uint64(1), p.Stats().Panicked)
	})
}

func TestTrySubmitErrWhenFullIsTheCallersToReport(t *testing.T) {
	var got failures
	p := pool.MustNew(pool.Config{Name: "mail", Workers: 1, OnFailure: got.add})
	defer p.Close(context.Background())
	block := make(chan struct{})
	require.NoError(t, p.Submit(t.Context(), func(context.Context) { <-block }))
	err := p.TrySubmitErr(t.Context(), func(context.Context) error { return nil })
	assert.ErrorIs(t, err, pool.ErrFull)
	close(block)
	assert.Empty(t, got.all(), "it was never accepted: the error is the caller's")
	assert.ErrorContains(t, p.SubmitErr(t.Context(), nil), "nil task")
	assert.ErrorContains(t, p.TrySubmitErr(t.Context(), nil), "nil task")
}

func TestBackgroundConfigErrors(t *testing.T) {
	var nilBreaker *breaker.Breaker
	for _, c := range []struct {
		cfg  pool.Config
		want string
	}{
		{pool.Config{Workers: 1, TaskTimeout: -time.Second}, "pool: Config.TaskTimeout must be >= 0, got -1s"},
		{pool.Config{Workers: 1, TaskTimeout: 10}, "pool: Config.TaskTimeout must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{pool.Config{Workers: 1, Policy: nilBreaker}, "pool: Config.Policy is a nil *breaker.Breaker"},
	} {
		_, err := pool.New(c.cfg)
		assert.EqualError(t, err, c.want)
	}
}
