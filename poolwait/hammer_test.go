package poolwait_test

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
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/internal/fakesql"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/poolwait"
	"github.com/watertight-go/watertight/retry"
)

// Policies that run attempts at once (a hedge, a retry, a retry of
// hedges) around queries through the Connector, hammered under -race:
// every checkout's hold ends, and each request's ledger holds only its
// own entries. Real time, not synctest: goroutine churn under synctest
// and -race trips golang/go#78156.
func TestHedgesAndRetriesThroughTheConnector(t *testing.T) {
	errFlaky := errors.New("flaky")
	for _, name := range []string{"hedge", "retry", "retry of hedges"} {
		t.Run(name, func(t *testing.T) {
			db, view, err := poolwait.OpenDB(fakesql.Timed{}, poolwait.ConnectorConfig{Name: "orders", LeakAfter: 10 * time.Second})
			require.NoError(t, err)
			defer db.Close()
			db.SetMaxOpenConns(4)
			h := hedge.MustNew(hedge.Config{Name: "orders", Delay: time.Millisecond, MaxHedges: 1})
			r := retry.MustNew(retry.Config{Name: "orders-retry", MaxAttempts: 3, Backoff: func() backoff.BackOff { return &backoff.ZeroBackOff{} }})
			p := map[string]watertight.Policy{"hedge": h, "retry": r, "retry of hedges": watertight.Chain(r, h)}[name]

			var calls atomic.Int64
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 200 {
						ctx, l := ledger.Start(context.Background())
						err := p.Do(ctx, func(ctx context.Context) error {
							n := calls.Add(1)
							query := "select"
							if n%3 == 0 {
								query = "sleep 2ms" // past the hedge's delay
							}
							if _, err := db.ExecContext(ctx, query); err != nil {
								return err
							}
							if n%5 == 0 {
								return errFlaky
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
			require.Eventually(t, func() bool { return h.Stats().Running == 0 && db.Stats().InUse == 0 }, time.Minute, time.Millisecond)
			ps := view.PoolStats()
			t.Logf("%s: %d holds, %d queries, %d hedges, %d retries", name, ps.Hold.Count, view.Connector().Queries().Count, h.Stats().Hedges, r.Stats().Retries)
			if name != "retry" {
				assert.Positive(t, h.Stats().Hedges)
			}
			assert.Zero(t, ps.InUse)
			assert.Zero(t, ps.OpenLeaks)
			assert.GreaterOrEqual(t, view.Connector().Queries().Count, uint64(800))
		})
	}
}
