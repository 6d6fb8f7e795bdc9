package watertightpgx_test

import (
	"database/sql/driver"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/internal/servertest"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/poolwait"
)

// database/sql through pgx's stdlib driver and poolwait's Connector, on a
// real PostgreSQL: the holds, the queries and the leaks of a pool whose
// waits database/sql tells only as a mean.
func TestDatabaseSQLThroughTheConnector(t *testing.T) {
	cc, err := pgx.ParseConfig(servertest.Postgres(t))
	require.NoError(t, err)
	reports := make(chan poolwait.Leak, 4)
	db, view, err := poolwait.OpenDB(stdlib.GetConnector(*cc), poolwait.ConnectorConfig{Name: "sql", LeakAfter: 300 * time.Millisecond, OnLeak: func(l poolwait.Leak) { reports <- l }})
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(2)

	dc, err := view.Connector().Connect(t.Context())
	require.NoError(t, err)
	_, resets := dc.(driver.SessionResetter)
	_, validates := dc.(driver.Validator)
	assert.True(t, resets && validates, "pgx's stdlib has both, and so does the wrapper: holds are measured")
	require.NoError(t, dc.Close())

	// 4 callers, 2 connections, each held 100 ms.
	ctx, l := ledger.Start(t.Context())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_, err := db.ExecContext(ctx, "SELECT pg_sleep(0.1)")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	ps := view.PoolStats()
	t.Logf("holds: count %d, p50 %v, p99 %v; database/sql's waits: %d, mean %v", ps.Hold.Count, ps.Hold.Quantile(0.5), ps.Hold.Quantile(0.99), ps.Waits, ps.WaitTotal/time.Duration(max(1, ps.Waits)))
	assert.Equal(t, uint64(4), ps.Hold.Count)
	assert.GreaterOrEqual(t, ps.Hold.Quantile(0.5), time.Duration(float64(100*time.Millisecond)*(1-poolwait.QuantileError)))
	assert.Equal(t, uint64(2), ps.Waits, "two callers waited for a connection")
	assert.GreaterOrEqual(t, ps.WaitTotal, 2*90*time.Millisecond)
	assert.False(t, ps.WaitMeasured, "database/sql tells no single wait")
	assert.Equal(t, 2, ps.Max)
	assert.Len(t, l.Entries(), 4, "each query in the request's ledger")
	for _, e := range l.Entries() {
		assert.Equal(t, ledger.Entry{Name: "sql", Kind: ledger.Attempt, Start: e.Start, Duration: e.Duration}, e)
		assert.GreaterOrEqual(t, e.Duration, 100*time.Millisecond)
	}

	// Rows never closed: a leak, reported with the stack that took it.
	rows, err := db.QueryContext(t.Context(), "SELECT 1")
	require.NoError(t, err)
	leak := <-reports
	assert.Regexp(t, `^github.com/watertight-go/watertight/contrib/pgx_test.TestDatabaseSQLThroughTheConnector\n`, leak.Stack)
	require.NoError(t, rows.Close())
	back := <-reports
	assert.True(t, back.Returned)
	assert.GreaterOrEqual(t, back.Held, 300*time.Millisecond)
	assert.Equal(t, uint64(1), view.PoolStats().Leaks)
	select {
	case r := <-reports:
		t.Fatalf("one more report: %+v", r)
	default:
	}
}
