package watertightprom_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/internal/fakesql"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"

	watertightprom "github.com/watertight-go/watertight/contrib/prometheus"
)

// measuredPool stands for a pool that tells every checkout (contrib/pgx),
// which this module does not import.
type measuredPool struct{ name string }

func (p measuredPool) PoolName() string { return p.name }

func (p measuredPool) PoolStats() poolwait.PoolStats {
	var wait, hold poolwait.Recorder
	for _, d := range []time.Duration{0, 0, 3 * time.Millisecond} {
		wait.Observe(d)
	}
	hold.Observe(40 * time.Millisecond)
	return poolwait.PoolStats{
		Kind: "pgx", InUse: 3, Idle: 1, Max: 4, Pending: 2,
		WaitMeasured: true, Wait: wait.Stats(), Waits: 1, WaitTotal: 3 * time.Millisecond,
		HoldMeasured: true, Hold: hold.Stats(),
		Acquired: 3, Timeouts: 0, Canceled: 1, Failed: 0, OpenLeaks: 1, Leaks: 2,
	}
}

func poolCollector(t *testing.T) *watertightprom.Collector {
	t.Helper()
	db, orders, err := poolwait.OpenDB(fakesql.Timed{}, poolwait.ConnectorConfig{Name: "orders"})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(5)
	_, err = db.ExecContext(context.Background(), "sleep 1ms")
	require.NoError(t, err)

	c := watertightprom.NewCollector()
	require.NoError(t, c.Add(orders, measuredPool{"accounts"}))
	return c
}

// Every pool is exported under OpenTelemetry's database client names, as
// Prometheus spells them, whatever its kind.
func TestPoolsUnderTheDatabaseClientNames(t *testing.T) {
	c := poolCollector(t)
	expected := `
# HELP db_client_connections_usage Connections open now, by state: used (checked out) or idle.
# TYPE db_client_connections_usage gauge
db_client_connections_usage{db_client_connection_pool_name="accounts",db_client_connection_state="idle"} 1
db_client_connections_usage{db_client_connection_pool_name="accounts",db_client_connection_state="used"} 3
db_client_connections_usage{db_client_connection_pool_name="orders",db_client_connection_state="idle"} 1
db_client_connections_usage{db_client_connection_pool_name="orders",db_client_connection_state="used"} 0
# HELP db_client_connection_max The pool's limit of open connections (absent when it has none, or does not tell).
# TYPE db_client_connection_max gauge
db_client_connection_max{db_client_connection_pool_name="accounts"} 4
db_client_connection_max{db_client_connection_pool_name="orders"} 5
# HELP db_client_connection_pending_requests Callers waiting for a connection now (absent when the pool does not tell).
# TYPE db_client_connection_pending_requests gauge
db_client_connection_pending_requests{db_client_connection_pool_name="accounts"} 2
# HELP watertight_connection_pool_checkouts_total Checkouts, by outcome: ok, canceled (the ctx ended while waiting), failed.
# TYPE watertight_connection_pool_checkouts_total counter
watertight_connection_pool_checkouts_total{db_client_connection_pool_name="accounts",outcome="canceled"} 1
watertight_connection_pool_checkouts_total{db_client_connection_pool_name="accounts",outcome="failed"} 0
watertight_connection_pool_checkouts_total{db_client_connection_pool_name="accounts",outcome="ok"} 3
watertight_connection_pool_checkouts_total{db_client_connection_pool_name="orders",outcome="canceled"} 0
watertight_connection_pool_checkouts_total{db_client_connection_pool_name="orders",outcome="failed"} 0
watertight_connection_pool_checkouts_total{db_client_connection_pool_name="orders",outcome="ok"} 1
# HELP watertight_connection_pool_info 1 for each pool, with its kind (database/sql, pgx, redis).
# TYPE watertight_connection_pool_info gauge
watertight_connection_pool_info{db_client_connection_pool_name="accounts",kind="pgx"} 1
watertight_connection_pool_info{db_client_connection_pool_name="orders",kind="database/sql"} 1
# HELP watertight_connection_pool_open_leaks Connections held past the leak threshold now.
# TYPE watertight_connection_pool_open_leaks gauge
watertight_connection_pool_open_leaks{db_client_connection_pool_name="accounts"} 1
watertight_connection_pool_open_leaks{db_client_connection_pool_name="orders"} 0
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected),
		"db_client_connections_usage", "db_client_connection_max", "db_client_connection_pending_requests",
		"watertight_connection_pool_checkouts_total", "watertight_connection_pool_info", "watertight_connection_pool_open_leaks"))

	// The wait histogram only for the pool that measures every wait; the
	// hold histogram for both.
	fams := families(t, c)
	require.Contains(t, fams, "db_client_connection_wait_time_seconds")
	waits := fams["db_client_connection_wait_time_seconds"].GetMetric()
	require.Len(t, waits, 1)
	assert.Equal(t, uint64(3), waits[0].GetHistogram().GetSampleCount())
	assert.Equal(t, uint64(2), waits[0].GetHistogram().GetBucket()[0].GetCumulativeCount(), "the zero waits are in the first bucket")
	holds := fams["db_client_connection_use_time_seconds"].GetMetric()
	require.Len(t, holds, 2)

	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	require.Empty(t, problems)
}

func families(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// The exposition, every kind's, passes promtool check metrics, Prometheus's own linter,
// when promtool is installed (Debian's prometheus package; .ci/run
// installs it and then requires it).
func TestPoolsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("WATERTIGHT_REQUIRE_SERVERS") != "" {
			t.Fatalf("promtool is required (WATERTIGHT_REQUIRE_SERVERS is set): %v", err)
		}
		t.Skipf("SKIPPED: promtool is not installed (apt-get install -y prometheus): %v", err)
	}
	// Every kind the collector exports, not only pools.
	c := poolCollector(t)
	wp := pool.MustNew(pool.Config{Name: "jobs", Workers: 1})
	defer wp.Close(context.Background())
	require.NoError(t, c.Add(
		bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 2}),
		breaker.MustNew(breaker.Config{Name: "payments"}),
		timeout.MustNew(timeout.Config{Name: "payments", Duration: time.Second}),
		retry.MustNew(retry.Config{Name: "payments"}),
		hedge.MustNew(hedge.Config{Name: "search", Delay: time.Second}),
		wp,
		fakeJobs{},
	))
	var text bytes.Buffer
	for _, mf := range families(t, c) {
		_, err := expfmt.MetricFamilyToText(&text, mf)
		require.NoError(t, err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &text
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s\n%s", out, text.String())
	assert.Empty(t, strings.TrimSpace(string(out)))
}

func TestPoolBadInput(t *testing.T) {
	c := watertightprom.NewCollector()
	var nilDB *poolwait.DB
	assert.EqualError(t, c.Add(nilDB), "watertightprom: Add: a nil *poolwait.DB")
	db, unnamed, err := poolwait.OpenDB(fakesql.Timed{}, poolwait.ConnectorConfig{Name: "x"})
	require.NoError(t, err)
	defer db.Close()
	legacy, err := poolwait.NewDB(db)
	require.NoError(t, err)
	assert.EqualError(t, c.Add(legacy), "watertightprom: Add: the *poolwait.DB has no PoolName: name the pool (poolwait.WithName, poolwait.ConnectorConfig.Name, the contrib adapters' Config.Name), which its metrics and its dashboard card carry")
	require.NoError(t, c.Add(measuredPool{"x"}))
	assert.EqualError(t, c.Add(unnamed), `watertightprom: Add: two different connection pool instances are named "x"; give each a Config.Name of its own`)
	require.NoError(t, c.Add(measuredPool{"x"}), "the same pool again: exported once")
	assert.NotEmpty(t, families(t, c), "the scrape works")
}

// fakeJobs stands for contrib/river's Middleware: a set of job kinds.
type fakeJobs struct{}

type fakeKind string

func (fakeJobs) JobKinds() []pool.JobKind {
	return []pool.JobKind{fakeKind("post_webhook"), fakeKind("send_email")}
}
func (k fakeKind) JobKind() string { return string(k) }
func (k fakeKind) JobStats() pool.JobStats {
	var run poolwait.Recorder
	run.Observe(5 * time.Millisecond)
	return pool.JobStats{Engine: "river", Running: 2, Worked: 10, Failed: 1, Snoozed: 3, Canceled: 1, Run: run.Stats()}
}

func TestJobKinds(t *testing.T) {
	c := watertightprom.NewCollector()
	require.NoError(t, c.Add(fakeJobs{}))
	expected := `
# HELP watertight_jobs_snoozed_total Jobs put off, without using up an attempt, because a policy refused them.
# TYPE watertight_jobs_snoozed_total counter
watertight_jobs_snoozed_total{name="post_webhook"} 3
watertight_jobs_snoozed_total{name="send_email"} 3
# HELP watertight_jobs_running Jobs of the kind running now (the name label is the job kind).
# TYPE watertight_jobs_running gauge
watertight_jobs_running{name="post_webhook"} 2
watertight_jobs_running{name="send_email"} 2
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected), "watertight_jobs_snoozed_total", "watertight_jobs_running"))
	fams := families(t, c)
	require.Contains(t, fams, "watertight_jobs_run_seconds")
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	require.Empty(t, problems)
}
