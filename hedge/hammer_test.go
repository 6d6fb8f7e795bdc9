package hedge_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/retry"
)

// Many goroutines through one Hedge, with fast and slow attempts,
// failures, permanent errors, panics on the caller's and the hedges'
// goroutines, and callers that leave: afterwards no goroutine is left
// (goleak), no loser is counted running, and the counts add up.
func TestHammer(t *testing.T) {
	var logged bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&syncWriter{w: &logged}, nil)))
	defer slog.SetDefault(old)
	synctest.Test(t, func(t *testing.T) {
		b := budget.MustNew(budget.Config{Ratio: 0.5})
		h := hedge.MustNew(hedge.Config{Delay: 20 * time.Millisecond, MaxHedges: 2, Budget: b})
		var calls, panics atomic.Int64
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 3))
				var mu sync.Mutex
				draw := func(n int) int { mu.Lock(); defer mu.Unlock(); return rng.IntN(n) }
				for range 150 {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(draw(200))*time.Millisecond)
					calls.Add(1)
					func() {
						defer func() {
							if recover() != nil {
								panics.Add(1)
							}
						}()
						_ = h.Do(ctx, func(ctx context.Context) error {
							switch draw(12) {
							case 0:
								panic("boom")
							case 1:
								return retry.Permanent(errDown)
							case 2, 3:
								return errDown
							case 4, 5:
								return work(ctx, 100*time.Millisecond)
							}
							return work(ctx, time.Duration(draw(10))*time.Millisecond)
						})
					}()
					cancel()
				}
			})
		}
		wg.Wait()
		synctest.Wait()
		st := h.Stats()
		assert.Equal(t, uint64(calls.Load()), st.Calls)
		assert.Zero(t, st.Running, "every loser returned and was counted out")
		assert.Positive(t, panics.Load())
		assert.Positive(t, st.Hedges)
		bs := b.Stats()
		assert.Equal(t, st.Calls, bs.Deposits)
		assert.Equal(t, st.Hedges, bs.Withdrawn)
		assert.Equal(t, st.Refused, bs.Refused)
	})
	t.Logf("losers' panics logged: %d", bytes.Count(logged.Bytes(), []byte("losing attempt panicked")))
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// A hedge that lost and then panics has no caller left: the panic is
// logged, with its stack, and nothing else happens.
func TestLosersPanicIsLogged(t *testing.T) {
	var logged bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&syncWriter{w: &logged}, nil)))
	defer slog.SetDefault(old)
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Name: "dep", Delay: 10 * time.Millisecond, Budget: budget.MustNew(budget.Config{Ratio: 1})})
		var n atomic.Int32
		err := h.Do(t.Context(), func(ctx context.Context) error {
			if n.Add(1) == 1 {
				return work(ctx, 50*time.Millisecond) // wins
			}
			<-ctx.Done() // the hedge lost
			panic("late")
		})
		assert.NoError(t, err)
		synctest.Wait()
		assert.Zero(t, h.Stats().Running)
	})
	assert.Contains(t, logged.String(), "hedge: losing attempt panicked")
	assert.Contains(t, logged.String(), "name=dep panic=late")
}
