package pool_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/pool"
)

// syncBuffer is a bytes.Buffer safe for the workers' logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// An OnPanic that panics itself has no caller to go up to: it is logged,
// and the worker lives on to run the next task.
func TestAPanickingOnPanicIsLoggedAndTheWorkerLivesOn(t *testing.T) {
	var logged syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	defer slog.SetDefault(old)

	p := pool.MustNew(pool.Config{Name: "jobs", Workers: 1, QueueSize: 4, OnPanic: func(pool.PanicEvent) { panic("in OnPanic") }})
	defer p.Close(context.Background())
	require.NoError(t, p.Submit(t.Context(), func(context.Context) { panic("task") }))
	require.NoError(t, p.Do(t.Context(), func(context.Context) error { return nil }), "the worker ran the next task")
	assert.Contains(t, logged.String(), "pool: OnPanic panicked")
	assert.Contains(t, logged.String(), "in OnPanic")
	assert.Equal(t, uint64(1), p.Stats().Panicked)
	assert.Equal(t, 1, p.Stats().Workers)
}
