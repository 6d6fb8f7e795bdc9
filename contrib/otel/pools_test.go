package watertightotel_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/internal/fakesql"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"

	watertightotel "github.com/watertight-go/watertight/contrib/otel"
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
		Acquired: 3, Canceled: 1, OpenLeaks: 1, Leaks: 2,
	}
}

func pools(t *testing.T) []any {
	t.Helper()
	db, orders, err := poolwait.OpenDB(fakesql.Timed{}, poolwait.ConnectorConfig{Name: "orders"})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(5)
	_, err = db.ExecContext(context.Background(), "sleep 1ms")
	require.NoError(t, err)
	return []any{orders, measuredPool{"accounts"}}
}

func TestPoolsUnderTheDatabaseClientNames(t *testing.T) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer mp.Shutdown(context.Background())
	a, err := watertightotel.Register(mp, pools(t)...)
	require.NoError(t, err)
	defer a.Unregister()

	got := collect(t, r)
	for k, want := range map[string]float64{
		"db.client.connections.usage{db.client.connection.pool.name=accounts,db.client.connection.state=used}": 3,
		"db.client.connections.usage{db.client.connection.pool.name=accounts,db.client.connection.state=idle}": 1,
		"db.client.connections.usage{db.client.connection.pool.name=orders,db.client.connection.state=used}":   0,
		"db.client.connections.usage{db.client.connection.pool.name=orders,db.client.connection.state=idle}":   1,
		"db.client.connection.max{db.client.connection.pool.name=accounts}":                                    4,
		"db.client.connection.max{db.client.connection.pool.name=orders}":                                      5,
		"db.client.connection.pending_requests{db.client.connection.pool.name=accounts}":                       2,
		"db.client.connection.timeouts{db.client.connection.pool.name=orders}":                                 0,
		"db.client.connection.wait_time.count{db.client.connection.pool.name=accounts}":                        3,
		"db.client.connection.wait_time.sum{db.client.connection.pool.name=accounts}":                          0.003,
		"db.client.connection.use_time.count{db.client.connection.pool.name=orders}":                           1,
		"watertight.connection_pool.info{db.client.connection.pool.name=orders,kind=database/sql}":             1,
		"watertight.connection_pool.checkouts{db.client.connection.pool.name=accounts,outcome=canceled}":       1,
		"watertight.connection_pool.open_leaks{db.client.connection.pool.name=accounts}":                       1,
		"watertight.connection_pool.leaks{db.client.connection.pool.name=accounts}":                            2,
	} {
		assert.Equal(t, want, got[k], k)
	}
	assert.NotContains(t, got, "db.client.connection.pending_requests{db.client.connection.pool.name=orders}", "database/sql does not tell")
	assert.NotContains(t, got, "db.client.connection.wait_time.count{db.client.connection.pool.name=orders}", "nor every wait")
	assert.Contains(t, got, "db.client.connection.wait_time.quantile{db.client.connection.pool.name=accounts,watertight.quantile=0.99}")
}

// Through OpenTelemetry's own Prometheus exporter, every series (the
// pools' and every other kind's) passes
// promtool check metrics (when promtool is installed: Debian's prometheus
// package; .ci/run installs it and then requires it).
func TestPoolsThroughThePrometheusExporterPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("WATERTIGHT_REQUIRE_SERVERS") != "" {
			t.Fatalf("promtool is required (WATERTIGHT_REQUIRE_SERVERS is set): %v", err)
		}
		t.Skipf("SKIPPED: promtool is not installed (apt-get install -y prometheus): %v", err)
	}
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	require.NoError(t, err)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(context.Background())
	// Every kind the adapter observes, not only pools.
	b := bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 2})
	require.NoError(t, b.Do(t.Context(), func(context.Context) error { return nil }))
	br := breaker.MustNew(breaker.Config{Name: "payments"})
	wp := pool.MustNew(pool.Config{Name: "jobs", Workers: 1})
	defer wp.Close(context.Background())
	tm := timeout.MustNew(timeout.Config{Name: "payments", Duration: time.Second})
	rt := retry.MustNew(retry.Config{Name: "payments"})
	hg := hedge.MustNew(hedge.Config{Name: "search", Delay: time.Second})
	a, err := watertightotel.Register(mp, append(pools(t), b, br, wp, tm, rt, hg, fakeJobs{})...)
	require.NoError(t, err)
	defer a.Unregister()

	mfs, err := reg.Gather()
	require.NoError(t, err)
	var text strings.Builder
	for _, mf := range mfs {
		_, err := expfmt.MetricFamilyToText(&text, mf)
		require.NoError(t, err)
	}
	require.Contains(t, text.String(), "db_client_connection_max")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text.String())
	out, err := cmd.CombinedOutput()
	t.Logf("promtool check metrics:\n%s", out)
	require.NoError(t, err, "%s", text.String())
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
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer mp.Shutdown(context.Background())
	a, err := watertightotel.Register(mp, fakeJobs{})
	require.NoError(t, err)
	defer a.Unregister()
	got := collect(t, r)
	assert.Equal(t, 3.0, got["watertight.jobs.snoozed{name=post_webhook}"])
	assert.Equal(t, 2.0, got["watertight.jobs.running{name=send_email}"])
	assert.Equal(t, 10.0, got["watertight.jobs.worked{name=send_email}"])
	assert.Equal(t, 1.0, got["watertight.jobs.run.count{name=send_email}"])
}
