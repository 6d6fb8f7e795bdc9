package pool_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/pool"
)

func TestGroupWaitsForAllAndReturnsNil(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, QueueSize: 2})
	g, ctx := pool.NewGroup(t.Context(), p)
	var sum atomic.Int64
	for i := range 100 {
		g.Go(func(context.Context) error { sum.Add(int64(i)); return nil })
	}
	require.NoError(t, g.Wait())
	assert.Equal(t, int64(4950), sum.Load())
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "Wait cancels the group's context")
	assert.Equal(t, uint64(100), p.Stats().Completed)
}

func TestGroupFirstErrorCancelsTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Workers: 2, QueueSize: 4})
		defer p.Close(t.Context())
		g, ctx := pool.NewGroup(t.Context(), p)
		var sawCancel atomic.Bool
		g.Go(func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				sawCancel.Store(true)
				return ctx.Err()
			case <-time.After(time.Hour):
				return nil
			}
		})
		g.Go(func(context.Context) error { elapse(time.Millisecond); return errBoom })
		for range 4 {
			g.Go(func(context.Context) error { t.Error("queued task ran after the group failed"); return nil })
		}
		assert.Same(t, errBoom, g.Wait(), "the first error, not the cancellations it caused")
		assert.True(t, sawCancel.Load())
		assert.Same(t, errBoom, context.Cause(ctx))
		assert.Equal(t, uint64(4), p.Stats().Expired, "queued tasks were skipped")

		// Go after the group failed does not run fn and keeps the first error.
		g.Go(func(context.Context) error { t.Error("ran"); return nil })
		assert.Same(t, errBoom, g.Wait())
	})
}

func TestGroupRepanicsAfterAllFinished(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2})
	g, _ := pool.NewGroup(t.Context(), p)
	var finished atomic.Bool
	started := make(chan struct{})
	g.Go(func(context.Context) error { <-started; panic("split") })
	g.Go(func(ctx context.Context) error { close(started); <-ctx.Done(); finished.Store(true); return nil })
	defer func() {
		pe, ok := recover().(*pool.PanicError)
		require.True(t, ok)
		assert.Equal(t, "split", pe.Value)
		assert.True(t, finished.Load(), "Wait re-panics only after every task finished")
	}()
	_ = g.Wait()
	t.Error("Wait did not panic")
}

func TestGroupOnClosedPool(t *testing.T) {
	p := pool.MustNew(pool.Config{Workers: 1})
	require.NoError(t, p.Close(t.Context()))
	g, _ := pool.NewGroup(t.Context(), p)
	g.Go(func(context.Context) error { t.Error("ran"); return nil })
	assert.ErrorIs(t, g.Wait(), pool.ErrClosed)
}
