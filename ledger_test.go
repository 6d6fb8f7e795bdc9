package watertight_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// What every gate records in a request's ledger, on its slow paths: a
// wait only when the call waited, refusals with their reason, a timeout
// that fired, a retry's backoffs and later attempts.
func TestGatesRecordInTheLedger(t *testing.T) {
	ms := time.Millisecond
	nop := func(context.Context) error { return nil }
	bubble := func(name string, f func(t *testing.T)) { t.Run(name, func(t *testing.T) { synctest.Test(t, f) }) }
	{
		bubble("bulkhead", func(t *testing.T) {
			b := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 1, MaxQueue: 1, MaxWait: 50 * ms})
			ctx, l := ledger.Start(context.Background())
			require.NoError(t, b.Do(ctx, nop), "a free slot: no entry")
			release, _ := b.Acquire(context.Background())
			go func() { <-time.After(10 * ms); release() }()
			require.NoError(t, b.Do(ctx, nop))
			release, _ = b.Acquire(context.Background())
			assert.ErrorIs(t, b.Do(ctx, nop), bulkhead.ErrWaitTimeout)
			go func() { _ = b.Do(context.Background(), func(context.Context) error { <-time.After(ms); return nil }) }() // takes the queue's place
			synctest.Wait()
			assert.ErrorIs(t, b.Do(ctx, nop), bulkhead.ErrFull)
			cctx, cancel := context.WithCancel(ctx)
			release()
			release, _ = b.Acquire(context.Background())
			go func() { <-time.After(5 * ms); cancel() }()
			assert.ErrorIs(t, b.Do(cctx, nop), context.Canceled)
			release()
			assert.Equal(t, []ledger.Entry{
				{Name: "db", Kind: ledger.Wait, Start: 0, Duration: 10 * ms},
				{Name: "db", Kind: ledger.Refused, Start: 10 * ms, Duration: 50 * ms, Outcome: "wait timeout"},
				{Name: "db", Kind: ledger.Refused, Start: 60 * ms, Outcome: "full"},
				{Name: "db", Kind: ledger.Wait, Start: 61 * ms, Duration: 5 * ms, Outcome: "canceled"},
			}, l.Entries())
		})
		bubble("breaker", func(t *testing.T) {
			b := breaker.MustNew(breaker.Config{Name: "payments", WindowCalls: 1, OpenBackoff: backoff.NewConstantBackOff(time.Second)})
			_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
			ctx, l := ledger.Start(context.Background())
			<-time.After(ms)
			assert.ErrorIs(t, b.Do(ctx, nop), breaker.ErrOpen)
			assert.Equal(t, []ledger.Entry{{Name: "payments", Kind: ledger.Refused, Start: ms, Outcome: "open"}}, l.Entries())
		})
		bubble("timeout", func(t *testing.T) {
			to := timeout.MustNew(timeout.Config{Name: "search", Duration: 20 * ms, MinRemaining: 5 * ms})
			ctx, l := ledger.Start(context.Background())
			require.NoError(t, to.Do(ctx, nop), "in time: no entry")
			assert.ErrorIs(t, to.Do(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }), timeout.ErrExceeded)
			short, cancel := context.WithTimeout(ctx, ms)
			defer cancel()
			assert.ErrorIs(t, to.Do(short, nop), timeout.ErrNoBudget)
			assert.Equal(t, []ledger.Entry{
				{Name: "search", Kind: ledger.Expired, Start: 0, Duration: 20 * ms},
				{Name: "search", Kind: ledger.Refused, Start: 20 * ms, Outcome: "no budget"},
			}, l.Entries())
		})
		bubble("retry", func(t *testing.T) {
			r := retry.MustNew(retry.Config{Name: "fx", Budget: budget.MustNew(budget.Config{Ratio: 10}),
				Backoff: func() backoff.BackOff { return backoff.NewConstantBackOff(10 * ms) }})
			ctx, l := ledger.Start(context.Background())
			n := 0
			require.NoError(t, r.Do(ctx, func(context.Context) error {
				n++
				<-time.After(5 * ms)
				if n < 3 {
					return errors.New("flaky")
				}
				return nil
			}))
			assert.Equal(t, []ledger.Entry{
				{Name: "fx", Kind: ledger.Backoff, Start: 5 * ms, Duration: 10 * ms},
				{Name: "fx", Kind: ledger.Attempt, Start: 15 * ms, Duration: 5 * ms, Outcome: "failed"},
				{Name: "fx", Kind: ledger.Backoff, Start: 20 * ms, Duration: 10 * ms},
				{Name: "fx", Kind: ledger.Attempt, Start: 30 * ms, Duration: 5 * ms},
			}, l.Entries(), "the first attempt is the caller's to time")
		})
		bubble("pool", func(t *testing.T) {
			p := pool.MustNew(pool.Config{Name: "jobs", Workers: 1, QueueSize: 1})
			defer p.Close(context.Background())
			ctx, l := ledger.Start(context.Background())
			require.NoError(t, p.Do(ctx, nop), "a free worker: no entry")
			hold := make(chan struct{})
			require.NoError(t, p.Submit(context.Background(), func(context.Context) { <-time.After(20 * ms); <-hold }))
			synctest.Wait()
			done := make(chan error)
			go func() { done <- p.Do(ctx, nop) }()
			synctest.Wait()
			assert.ErrorIs(t, p.TrySubmit(ctx, func(context.Context) {}), pool.ErrFull)
			close(hold)
			require.NoError(t, <-done)
			assert.Equal(t, []ledger.Entry{
				{Name: "jobs", Kind: ledger.Refused, Start: 0, Outcome: "full"},
				{Name: "jobs", Kind: ledger.Wait, Start: 0, Duration: 20 * ms}, // recorded when it ended
			}, l.Entries())
		})
	}
}

// Without a ledger the gates' slow paths record nothing and allocate
// nothing more: a refusal by a full bulkhead, an open breaker.
func TestNoLedgerNoAllocation(t *testing.T) {
	full := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	release, _ := full.Acquire(context.Background())
	defer release()
	open := breaker.MustNew(breaker.Config{WindowCalls: 1})
	_ = open.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	ctx := context.Background()
	nop := func(context.Context) error { return nil }
	if !raceEnabled {
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = full.Do(ctx, nop) }))
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = open.Do(ctx, nop) }))
	}
}
