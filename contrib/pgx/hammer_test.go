package watertightpgx_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	watertightpgx "github.com/watertight-go/watertight/contrib/pgx"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/retry"
)

// Policies that run attempts at once (a hedge, a retry, and a retry of
// hedges) around queries through a traced pgxpool, hammered under -race:
// every acquire is released, nothing waits for ever, and each request's
// ledger holds only its own entries. Real time and a real server: a hedge
// after 1 ms (the shortest a hedge takes) races many a first attempt.
func TestHedgesAndRetriesThroughATracedPool(t *testing.T) {
	pool, tracer := newPool(t, 4, watertightpgx.Config{Name: "orders", LeakAfter: 10 * time.Second})
	errFlaky := errors.New("flaky")
	for _, name := range []string{"hedge", "retry", "retry of hedges"} {
		t.Run(name, func(t *testing.T) {
			h := hedge.MustNew(hedge.Config{Name: "orders", Delay: time.Millisecond, MaxHedges: 1})
			r := retry.MustNew(retry.Config{Name: "orders-retry", MaxAttempts: 3, Backoff: func() backoff.BackOff { return &backoff.ZeroBackOff{} }})
			p := map[string]watertight.Policy{"hedge": h, "retry": r, "retry of hedges": watertight.Chain(r, h)}[name]
			var calls atomic.Int64
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 150 {
						ctx, l := ledger.Start(context.Background())
						err := p.Do(ctx, func(ctx context.Context) error {
							n := calls.Add(1)
							sleep := 0.0
							if n%3 == 0 {
								sleep = 0.002 // past the hedge's delay: a second attempt races this one
							}
							if _, err := pool.Exec(ctx, "SELECT pg_sleep($1)", sleep); err != nil {
								return err
							}
							if n%5 == 0 {
								return errFlaky // a retry's reason
							}
							return nil
						})
						if err != nil && !errors.Is(err, errFlaky) && !errors.Is(err, context.Canceled) {
							t.Errorf("unexpected error: %v", err)
						}
						l.Finish()
						for _, e := range l.Entries() {
							if e.Name != "orders" && e.Name != "orders-retry" {
								t.Errorf("an entry of another request: %+v", e)
							}
						}
					}
				})
			}
			wg.Wait()
			// Losing hedges run on until their ctx ends them.
			require.Eventually(t, func() bool { return h.Stats().Running == 0 }, time.Minute, time.Millisecond)
			require.Eventually(t, func() bool { return tracer.PoolStats().InUse == 0 }, time.Minute, time.Millisecond)
			ps := tracer.PoolStats()
			t.Logf("%s: %d acquires so far, %d hedges, %d retries", name, ps.Acquired, h.Stats().Hedges, r.Stats().Retries)
			if name != "retry" {
				assert.Positive(t, h.Stats().Hedges, "hedges raced their first attempts")
			}
			assert.Zero(t, ps.Pending)
			assert.Equal(t, ps.Acquired, ps.Hold.Count, "every acquire released: %d acquired, %d holds", ps.Acquired, ps.Hold.Count)
			assert.Zero(t, ps.OpenLeaks)
		})
	}
}
