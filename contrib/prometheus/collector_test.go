package watertightprom_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/timeout"

	watertightprom "github.com/watertight-go/watertight/contrib/prometheus"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBulkheadMetricsExactly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 1, MaxQueue: 1})
		release, err := b.Acquire(t.Context())
		require.NoError(t, err)
		waited := make(chan error)
		go func() { waited <- b.Do(t.Context(), func(context.Context) error { return nil }) }()
		synctest.Wait()
		assert.ErrorIs(t, b.Do(t.Context(), func(context.Context) error { return nil }), bulkhead.ErrFull)
		<-time.After(3 * time.Millisecond)
		release()
		require.NoError(t, <-waited)

		c := watertightprom.NewCollector()
		require.NoError(t, c.Add(b))
		expected := `
# HELP watertight_bulkhead_acquired_total Bulkhead slots granted.
# TYPE watertight_bulkhead_acquired_total counter
watertight_bulkhead_acquired_total{name="payments"} 2
# HELP watertight_bulkhead_in_flight_calls Calls holding a bulkhead slot now.
# TYPE watertight_bulkhead_in_flight_calls gauge
watertight_bulkhead_in_flight_calls{name="payments"} 0
# HELP watertight_bulkhead_rejected_total Calls the bulkhead refused, by reason (full, wait_timeout).
# TYPE watertight_bulkhead_rejected_total counter
watertight_bulkhead_rejected_total{name="payments",reason="full"} 1
watertight_bulkhead_rejected_total{name="payments",reason="wait_timeout"} 0
`
		require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected),
			"watertight_bulkhead_acquired_total", "watertight_bulkhead_in_flight_calls", "watertight_bulkhead_rejected_total"))

		// The wait histogram: one zero wait, one of 3 ms, in seconds.
		out := scrape(t, c)
		assert.Contains(t, out, `watertight_bulkhead_wait_seconds_count{name="payments"} 2`)
		assert.Contains(t, out, `watertight_bulkhead_wait_seconds_sum{name="payments"} 0.003`)
		assert.Contains(t, out, `watertight_bulkhead_wait_seconds_bucket{name="payments",le="1.024e-06"} 1`)
		assert.Contains(t, out, `watertight_bulkhead_wait_seconds_bucket{name="payments",le="0.002097152"} 1`)
		assert.Contains(t, out, `watertight_bulkhead_wait_seconds_bucket{name="payments",le="0.004194304"} 2`)
		assert.Contains(t, out, `watertight_bulkhead_wait_seconds_bucket{name="payments",le="+Inf"} 2`)
	})
}

func TestBreakerPoolTimeoutAndChains(t *testing.T) {
	br := breaker.MustNew(breaker.Config{Name: "ledger", WindowCalls: 2})
	for range 2 {
		_ = br.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	}
	_ = br.Do(context.Background(), func(context.Context) error { return nil }) // rejected
	p := pool.MustNew(pool.Config{Name: "mail", Workers: 1})
	for range 3 {
		require.NoError(t, p.Do(context.Background(), func(context.Context) error { return nil }))
	}
	require.NoError(t, p.Close(context.Background()))
	to := timeout.MustNew(timeout.Config{Name: "geo", Duration: time.Second})
	require.NoError(t, to.Do(context.Background(), func(context.Context) error { return nil }))

	c := watertightprom.NewCollector()
	require.NoError(t, c.Add(watertight.Chain(to, br), p))
	expected := `
# HELP watertight_breaker_calls_total Calls by outcome: success, failure, ignored (counted neither way), rejected.
# TYPE watertight_breaker_calls_total counter
watertight_breaker_calls_total{name="ledger",outcome="failure"} 2
watertight_breaker_calls_total{name="ledger",outcome="ignored"} 0
watertight_breaker_calls_total{name="ledger",outcome="rejected"} 1
watertight_breaker_calls_total{name="ledger",outcome="success"} 0
# HELP watertight_breaker_state 1 for the breaker's current state, 0 for the others.
# TYPE watertight_breaker_state gauge
watertight_breaker_state{name="ledger",state="closed"} 0
watertight_breaker_state{name="ledger",state="half_open"} 0
watertight_breaker_state{name="ledger",state="open"} 1
# HELP watertight_pool_completed_total Tasks that ran and returned.
# TYPE watertight_pool_completed_total counter
watertight_pool_completed_total{name="mail"} 3
# HELP watertight_timeout_calls_total Calls that started under the timeout.
# TYPE watertight_timeout_calls_total counter
watertight_timeout_calls_total{name="geo"} 1
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected),
		"watertight_breaker_calls_total", "watertight_breaker_state", "watertight_pool_completed_total", "watertight_timeout_calls_total"))
}

func TestMetricsPassTheLinter(t *testing.T) {
	c := watertightprom.NewCollector()
	require.NoError(t, c.Add(
		bulkhead.MustNew(bulkhead.Config{Name: "a", MaxConcurrent: 1}),
		breaker.MustNew(breaker.Config{Name: "a", SlowCall: time.Second}),
		timeout.MustNew(timeout.Config{Name: "a", Duration: time.Second}),
	))
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

func TestAddRejectsWhatItCannotCollect(t *testing.T) {
	c := watertightprom.NewCollector()
	assert.EqualError(t, c.Add("x"), "watertightprom: Add: cannot read string; it reads *bulkhead.Bulkhead, *timeout.Timeout, *pool.Pool, *breaker.Breaker, *retry.Retry, *hedge.Hedge, *budget.Budget, *httpguard.Hosts, *poolwait.ConnWaits, a poolwait.Pool (*poolwait.DB, contrib/pgx, contrib/redis), a pool.JobKinds (contrib/river), and a Chain of them")
	var b *bulkhead.Bulkhead
	assert.EqualError(t, c.Add(b), "watertightprom: Add: nil *bulkhead.Bulkhead")
	assert.EqualError(t, c.AddDB("db", nil), `watertightprom: AddDB: nil *poolwait.DB for "db"`)
}

func scrape(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				lbl := fmt.Sprintf(`name="%s"`, m.GetLabel()[0].GetValue())
				fmt.Fprintf(&b, "%s_count{%s} %d\n", mf.GetName(), lbl, h.GetSampleCount())
				fmt.Fprintf(&b, "%s_sum{%s} %g\n", mf.GetName(), lbl, h.GetSampleSum())
				for _, bk := range h.GetBucket() {
					fmt.Fprintf(&b, "%s_bucket{%s,le=\"%g\"} %d\n", mf.GetName(), lbl, bk.GetUpperBound(), bk.GetCumulativeCount())
				}
				fmt.Fprintf(&b, "%s_bucket{%s,le=\"+Inf\"} %d\n", mf.GetName(), lbl, h.GetSampleCount())
			}
		}
	}
	return b.String()
}

// A scrape of a thousand instances: ns per instance and allocations.
func BenchmarkScrape1000(b *testing.B) {
	c := watertightprom.NewCollector()
	for i := range 1000 {
		name := fmt.Sprint("dep", i)
		switch i % 3 {
		case 0:
			_ = c.Add(bulkhead.MustNew(bulkhead.Config{Name: name, MaxConcurrent: 8}))
		case 1:
			_ = c.Add(breaker.MustNew(breaker.Config{Name: name}))
		case 2:
			_ = c.Add(timeout.MustNew(timeout.Config{Name: name, Duration: time.Second}))
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/instance")
}
