package watertightredis_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	watertightredis "github.com/watertight-go/watertight/contrib/redis"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/retry"
)

// Policies that run attempts at once (a hedge, a retry, a retry of
// hedges) around commands through an instrumented client, hammered under
// -race: every command is timed once, and each request's ledger holds
// only its own entries. Real time and a real server.
func TestHedgesAndRetriesThroughTheHook(t *testing.T) {
	errFlaky := errors.New("flaky")
	for _, name := range []string{"hedge", "retry", "retry of hedges"} {
		t.Run(name, func(t *testing.T) {
			rdb := newClient(t, redis.Options{PoolSize: 4, MaxRetries: -1})
			cache, err := watertightredis.Instrument(rdb, watertightredis.Config{Name: "cache"})
			require.NoError(t, err)
			require.NoError(t, rdb.Ping(t.Context()).Err())
			before := cache.Commands().Count
			h := hedge.MustNew(hedge.Config{Name: "cache", Delay: time.Millisecond, MaxHedges: 1})
			r := retry.MustNew(retry.Config{Name: "cache-retry", MaxAttempts: 3, Backoff: func() backoff.BackOff { return &backoff.ZeroBackOff{} }})
			p := map[string]watertight.Policy{"hedge": h, "retry": r, "retry of hedges": watertight.Chain(r, h)}[name]

			var calls, commands atomic.Int64
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 150 {
						ctx, l := ledger.Start(context.Background())
						err := p.Do(ctx, func(ctx context.Context) error {
							n := calls.Add(1)
							commands.Add(1)
							var err error
							if n%3 == 0 {
								err = rdb.Do(ctx, "BLPOP", "empty", "0.002").Err() // waits 2 ms: past the hedge's delay
							} else {
								err = rdb.Get(ctx, "missing").Err()
							}
							if err != nil && !errors.Is(err, redis.Nil) {
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
							if e.Name != "cache" && e.Name != "cache-retry" {
								t.Errorf("an entry of another request: %+v", e)
							}
						}
					}
				})
			}
			wg.Wait()
			require.Eventually(t, func() bool { return h.Stats().Running == 0 }, time.Minute, time.Millisecond)
			timed := cache.Commands().Count - before
			t.Logf("%s: %d commands sent, %d timed (and new connections' handshakes), %d hedges, %d retries", name, commands.Load(), timed, h.Stats().Hedges, r.Stats().Retries)
			if name != "retry" {
				assert.Positive(t, h.Stats().Hedges)
			}
			assert.GreaterOrEqual(t, timed, uint64(commands.Load()), "every command timed")
			assert.Zero(t, cache.PoolStats().Pending)
		})
	}
}
