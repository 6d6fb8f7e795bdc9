package watertightotel_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/internal/fakesql"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"

	watertightotel "github.com/watertight-go/watertight/contrib/otel"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collect returns every data point as "instrument{attrs}" → value.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+key(p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+key(p.Attributes)] = float64(p.Value)
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+key(p.Attributes)] = p.Value
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+key(p.Attributes)] = p.Value
				}
			}
		}
	}
	return out
}

func key(s attribute.Set) string {
	k := "{"
	for i, kv := range s.ToSlice() {
		if i > 0 {
			k += ","
		}
		k += string(kv.Key) + "=" + kv.Value.String()
	}
	return k + "}"
}

func TestBulkheadInstrumentsExactly(t *testing.T) {
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

		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer mp.Shutdown(context.Background())
		a, err := watertightotel.Register(mp, b)
		require.NoError(t, err)
		defer a.Unregister()

		got := collect(t, reader)
		assert.Equal(t, 1.0, got["watertight.bulkhead.limit{name=payments}"])
		assert.Equal(t, 2.0, got["watertight.bulkhead.acquired{name=payments}"])
		assert.Equal(t, 1.0, got["watertight.bulkhead.rejected{name=payments,reason=full}"])
		assert.Equal(t, 0.0, got["watertight.bulkhead.rejected{name=payments,reason=wait_timeout}"])
		assert.Equal(t, 2.0, got["watertight.bulkhead.wait.count{name=payments}"])
		assert.InDelta(t, 0.003, got["watertight.bulkhead.wait.duration.sum{name=payments}"], 1e-12)
		assert.InDelta(t, 0.003, got["watertight.bulkhead.wait.duration.max{name=payments}"], 1e-12)
		assert.InEpsilon(t, 0.003, got["watertight.bulkhead.wait.duration.quantile{name=payments,watertight.quantile=0.99}"], 0.061)
		assert.Equal(t, 0.0, got["watertight.bulkhead.wait.duration.quantile{name=payments,watertight.quantile=0.5}"], "one of the two waits was zero")

		// The quantiles cover the waits since the previous collection: none.
		got = collect(t, reader)
		_, ok := got["watertight.bulkhead.wait.duration.quantile{name=payments,watertight.quantile=0.99}"]
		assert.False(t, ok)
		assert.Equal(t, 2.0, got["watertight.bulkhead.wait.count{name=payments}"], "counts stay cumulative")
	})
}

func TestBreakerAndPoolThroughAChain(t *testing.T) {
	br := breaker.MustNew(breaker.Config{Name: "ledger", WindowCalls: 2})
	for range 2 {
		_ = br.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	}
	p := pool.MustNew(pool.Config{Name: "mail", Workers: 1})
	require.NoError(t, p.Do(context.Background(), func(context.Context) error { return nil }))
	require.NoError(t, p.Close(context.Background()))

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	a, err := watertightotel.Register(mp, watertight.Chain(br, p))
	require.NoError(t, err)
	defer a.Unregister()

	got := collect(t, reader)
	assert.Equal(t, 1.0, got["watertight.breaker.state{name=ledger,state=open}"])
	assert.Equal(t, 0.0, got["watertight.breaker.state{name=ledger,state=closed}"])
	assert.Equal(t, 2.0, got["watertight.breaker.calls{name=ledger,outcome=failure}"])
	assert.Equal(t, 1.0, got["watertight.breaker.transitions{name=ledger}"])
	assert.Equal(t, 1.0, got["watertight.pool.completed{name=mail}"])
	assert.Equal(t, 1.0, got["watertight.pool.run.count{name=mail}"])
}

func TestRegisterBadInput(t *testing.T) {
	_, err := watertightotel.Register(nil)
	assert.EqualError(t, err, "watertightotel: Register: nil MeterProvider")
	mp := sdkmetric.NewMeterProvider()
	defer mp.Shutdown(context.Background())
	_, err = watertightotel.Register(mp, 42)
	assert.EqualError(t, err, "watertightotel: Add: cannot read int; it reads *bulkhead.Bulkhead, *timeout.Timeout, *pool.Pool, *breaker.Breaker, *retry.Retry, *hedge.Hedge, *budget.Budget, *httpguard.Hosts, *poolwait.ConnWaits, a poolwait.Pool (*poolwait.DB, contrib/pgx, contrib/redis), a pool.JobKinds (contrib/river), and a Chain of them")
	var b *bulkhead.Bulkhead
	_, err = watertightotel.Register(mp, b)
	assert.EqualError(t, err, "watertightotel: Add: nil *bulkhead.Bulkhead")
}

// A collection of a thousand instances: ns per instance and allocations.
func BenchmarkCollect1000(b *testing.B) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	var instances []any
	for i := range 1000 {
		name := fmt.Sprint("dep", i)
		if i%2 == 0 {
			instances = append(instances, bulkhead.MustNew(bulkhead.Config{Name: name, MaxConcurrent: 8}))
		} else {
			instances = append(instances, breaker.MustNew(breaker.Config{Name: name}))
		}
	}
	a, err := watertightotel.Register(mp, instances...)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Unregister()
	var rm metricdata.ResourceMetrics
	b.ReportAllocs()
	for b.Loop() {
		if err := reader.Collect(context.Background(), &rm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/instance")
}

func TestDatabasePool(t *testing.T) {
	db := sql.OpenDB(fakesql.Connector{})
	defer db.Close()
	db.SetMaxOpenConns(3)
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	sampler, err := poolwait.NewDB(db)
	require.NoError(t, err)

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	a, err := watertightotel.Register(mp)
	require.NoError(t, err)
	defer a.Unregister()
	require.NoError(t, a.AddDB("orders", sampler))
	got := collect(t, reader)
	assert.Equal(t, 3.0, got["watertight.sql.connections.max_open{name=orders}"])
	assert.Equal(t, 1.0, got["watertight.sql.connections.in_use{name=orders}"])
	assert.Equal(t, 0.0, got["watertight.sql.waits{name=orders}"])
}

// Two pools with one name are an error from AddDB, as they are for every
// other kind in Add.
func TestTwoPoolsWithOneNameAreAnError(t *testing.T) {
	db1, db2 := sql.OpenDB(fakesql.Connector{}), sql.OpenDB(fakesql.Connector{})
	defer db1.Close()
	defer db2.Close()
	s1, _ := poolwait.NewDB(db1)
	s2, _ := poolwait.NewDB(db2)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	a, err := watertightotel.Register(mp)
	require.NoError(t, err)
	defer a.Unregister()
	require.NoError(t, a.AddDB("pg", s1))
	require.NoError(t, a.AddDB("pg", s1))
	assert.EqualError(t, a.AddDB("pg", s2), `watertightotel: AddDB: another *poolwait.DB is named "pg" already; give each pool a name of its own (two would export colliding series, and every scrape would fail)`)
}
