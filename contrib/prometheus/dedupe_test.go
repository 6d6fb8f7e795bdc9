package watertightprom_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	watertightprom "github.com/watertight-go/watertight/contrib/prometheus"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// gather registers c and gathers once, as a /metrics scrape does: an error
// here is a 500 for every metric.
func gather(t *testing.T, c *watertightprom.Collector) int {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	return len(mfs)
}

// The same instance added alone and inside a chain used to make two
// identical series, and every scrape failed.
func TestSameInstanceTwiceIsExportedOnce(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 1})
	tm := timeout.MustNew(timeout.Config{Name: "payments", Duration: 1e9})
	c := watertightprom.NewCollector()
	require.NoError(t, c.Add(b))
	require.NoError(t, c.Add(watertight.Chain(tm, b), b))
	assert.Positive(t, gather(t, c))
}

func TestTwoInstancesWithOneNameAreAnError(t *testing.T) {
	c := watertightprom.NewCollector()
	require.NoError(t, c.Add(breaker.MustNew(breaker.Config{Name: "db"})))
	err := c.Add(watertight.Chain(breaker.MustNew(breaker.Config{Name: "db"})))
	assert.EqualError(t, err, `watertightprom: Add: two different breaker instances are named "db"; give each a Config.Name of its own`)
	err = c.Add(bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1}), bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1}))
	assert.EqualError(t, err, `watertightprom: Add: two different bulkhead instances are named ""; give each a Config.Name of its own`)
	assert.Positive(t, gather(t, c), "what was refused was not added")
}

// A per-host factory that gives every host's policy one name: the
// collision appears only at run time, and the scrape must still succeed.
func TestPerHostPoliciesWithOneNameStillScrape(t *testing.T) {
	hosts, err := httpguard.PerHost(http.DefaultTransport, func(string) (watertight.Policy, error) {
		return bulkhead.MustNew(bulkhead.Config{Name: "api", MaxConcurrent: 1}), nil
	}, httpguard.HostsConfig{})
	require.NoError(t, err)
	for _, u := range []string{"http://127.0.0.1:1/", "http://127.0.0.1:2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, _ = hosts.RoundTrip(req) // makes the host's policy; nothing listens
	}
	c := watertightprom.NewCollector()
	require.NoError(t, c.Add(hosts, hosts))
	assert.Positive(t, gather(t, c))
}

// A retry and its budget, exactly: the calls, attempts and waits, and the
// budget's deposits and withdrawals (the shared budget exported once).
func TestRetryAndBudgetMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared := budget.MustNew(budget.Config{Name: "ledger", MinPerSecond: 0.1})
		reads := retry.MustNew(retry.Config{Name: "ledger-reads", Budget: shared, MaxAttempts: 2,
			Backoff: func() backoff.BackOff { return backoff.NewConstantBackOff(3 * time.Millisecond) }})
		writes := retry.MustNew(retry.Config{Name: "ledger-writes", Budget: shared})
		calls := 0
		require.NoError(t, reads.Do(t.Context(), func(context.Context) error {
			if calls++; calls == 1 {
				return errors.New("flaky")
			}
			return nil
		}))
		c := watertightprom.NewCollector()
		require.NoError(t, c.Add(reads, writes, shared))
		expected := `
# HELP watertight_retry_attempts_total Attempts made, the first of each call included.
# TYPE watertight_retry_attempts_total counter
watertight_retry_attempts_total{name="ledger-reads"} 2
watertight_retry_attempts_total{name="ledger-writes"} 0
# HELP watertight_retry_recovered_total Calls that succeeded after a retry.
# TYPE watertight_retry_recovered_total counter
watertight_retry_recovered_total{name="ledger-reads"} 1
watertight_retry_recovered_total{name="ledger-writes"} 0
# HELP watertight_retry_gave_up_total Calls that ended on a retryable error, by reason (attempts, budget, deadline, retry_after).
# TYPE watertight_retry_gave_up_total counter
watertight_retry_gave_up_total{name="ledger-reads",reason="attempts"} 0
watertight_retry_gave_up_total{name="ledger-reads",reason="budget"} 0
watertight_retry_gave_up_total{name="ledger-reads",reason="deadline"} 0
		watertight_retry_gave_up_total{name="ledger-reads",reason="retry_after"} 0
watertight_retry_gave_up_total{name="ledger-writes",reason="attempts"} 0
watertight_retry_gave_up_total{name="ledger-writes",reason="budget"} 0
watertight_retry_gave_up_total{name="ledger-writes",reason="deadline"} 0
		watertight_retry_gave_up_total{name="ledger-writes",reason="retry_after"} 0
# HELP watertight_budget_deposits_total Requests recorded in the retry budget.
# TYPE watertight_budget_deposits_total counter
watertight_budget_deposits_total{name="ledger"} 1
# HELP watertight_budget_withdrawn_total Extra attempts (retries, hedges) the budget granted.
# TYPE watertight_budget_withdrawn_total counter
watertight_budget_withdrawn_total{name="ledger"} 1
`
		require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected),
			"watertight_retry_attempts_total", "watertight_retry_recovered_total", "watertight_retry_gave_up_total", "watertight_budget_deposits_total", "watertight_budget_withdrawn_total"))
		out := scrape(t, c)
		assert.Contains(t, out, `watertight_retry_wait_seconds_count{name="ledger-reads"} 1`)
		assert.Contains(t, out, `watertight_retry_wait_seconds_sum{name="ledger-reads"} 0.003`)
	})
}

// A hedge's counters and gauges, exactly, and its budget beside them.
func TestHedgeMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Name: "search", Delay: 10 * time.Millisecond})
		var first atomic.Bool
		require.NoError(t, h.Do(t.Context(), func(ctx context.Context) error {
			if first.CompareAndSwap(false, true) {
				<-ctx.Done() // slow: the hedge wins
				return ctx.Err()
			}
			return nil
		}))
		c := watertightprom.NewCollector()
		require.NoError(t, c.Add(h))
		expected := `
# HELP watertight_hedge_calls_total Calls made through the hedge.
# TYPE watertight_hedge_calls_total counter
watertight_hedge_calls_total{name="search"} 1
# HELP watertight_hedge_delay_seconds The delay before a hedge now; 0 while an adaptive delay warms up.
# TYPE watertight_hedge_delay_seconds gauge
watertight_hedge_delay_seconds{name="search"} 0.01
# HELP watertight_hedge_hedges_total Extra attempts (hedges) sent.
# TYPE watertight_hedge_hedges_total counter
watertight_hedge_hedges_total{name="search"} 1
# HELP watertight_hedge_running_attempts Hedge attempts still running (losers, once their call is decided).
# TYPE watertight_hedge_running_attempts gauge
watertight_hedge_running_attempts{name="search"} 0
# HELP watertight_hedge_wins_total Calls a hedge won.
# TYPE watertight_hedge_wins_total counter
watertight_hedge_wins_total{name="search"} 1
# HELP watertight_budget_withdrawn_total Extra attempts (retries, hedges) the budget granted.
# TYPE watertight_budget_withdrawn_total counter
watertight_budget_withdrawn_total{name="search"} 1
`
		require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected),
			"watertight_hedge_calls_total", "watertight_hedge_delay_seconds", "watertight_hedge_hedges_total",
			"watertight_hedge_running_attempts", "watertight_hedge_wins_total", "watertight_budget_withdrawn_total"))
	})
}

// A CoDel pool's shed tasks, exported.
func TestShedMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Name: "thumbs", Workers: 1, QueueSize: 4, Queue: pool.CoDel})
		gate := make(chan struct{})
		require.NoError(t, p.Submit(t.Context(), func(context.Context) { <-gate }))
		synctest.Wait()
		require.NoError(t, p.Submit(t.Context(), func(context.Context) {}))
		<-time.After(200 * time.Millisecond) // it waits past the interval: shed when the worker comes back
		close(gate)
		require.NoError(t, p.Close(t.Context()))
		c := watertightprom.NewCollector()
		require.NoError(t, c.Add(p))
		expected := `
# HELP watertight_pool_shed_total Tasks a CoDel queue shed, never run.
# TYPE watertight_pool_shed_total counter
watertight_pool_shed_total{name="thumbs"} 1
`
		require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected), "watertight_pool_shed_total"))
	})
}
