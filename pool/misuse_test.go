package pool_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/pool"
)

// A zero Pool has no workers: every call that would give it work, and
// Close, returns an error instead of crashing on its missing queue.
func TestZeroPoolRefusesWork(t *testing.T) {
	var p pool.Pool
	const want = "pool: Pool not created with New"
	task := func(context.Context) { t.Error("a task ran on a zero Pool") }
	assert.EqualError(t, p.Submit(t.Context(), task), want)
	assert.EqualError(t, p.TrySubmit(t.Context(), task), want)
	assert.EqualError(t, p.Do(t.Context(), func(context.Context) error { return nil }), want)
	f, err := pool.Go(t.Context(), &p, func(context.Context) (int, error) { return 1, nil })
	assert.Nil(t, f)
	assert.EqualError(t, err, want)
	assert.EqualError(t, p.Close(t.Context()), want)
	assert.Equal(t, pool.Stats{}, p.Stats())

	g, _ := pool.NewGroup(t.Context(), &p)
	g.Go(func(context.Context) error { return nil })
	assert.EqualError(t, g.Wait(), want)
}

func TestNilPoolAndZeroGroupAreErrors(t *testing.T) {
	f, err := pool.Go(t.Context(), nil, func(context.Context) (int, error) { return 1, nil })
	assert.Nil(t, f)
	assert.EqualError(t, err, "pool: nil *Pool")

	g, ctx := pool.NewGroup(t.Context(), nil)
	g.Go(func(context.Context) error { return nil })
	assert.EqualError(t, g.Wait(), "pool: nil *Pool")
	assert.Error(t, ctx.Err(), "the group's context ends with Wait")

	var zero pool.Group
	zero.Go(func(context.Context) error { return nil })
	assert.EqualError(t, zero.Wait(), "pool: Group not created with NewGroup")

	var fut pool.Future[int]
	_, err = fut.Wait(t.Context())
	assert.EqualError(t, err, "pool: Future not returned by Go")
}

// A handler that aborts its response with http.ErrAbortHandler under a
// pool policy must reach net/http with the sentinel itself, which net/http
// recognises and does not log as a crash.
func TestErrAbortHandlerGoesUpUnchanged(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 1, QueueSize: 1})
	abort := func(context.Context) error { panic(http.ErrAbortHandler) }

	require.PanicsWithValue(t, http.ErrAbortHandler, func() { _ = p.Do(t.Context(), abort) })

	f, err := pool.Go(t.Context(), p, func(context.Context) (int, error) { panic(http.ErrAbortHandler) })
	require.NoError(t, err)
	require.PanicsWithValue(t, http.ErrAbortHandler, func() { _, _ = f.Wait(t.Context()) })

	g, _ := pool.NewGroup(t.Context(), p)
	g.Go(abort)
	require.PanicsWithValue(t, http.ErrAbortHandler, func() { _ = g.Wait() })

	assert.Equal(t, uint64(3), p.Stats().Panicked, "still counted as panics")
}
