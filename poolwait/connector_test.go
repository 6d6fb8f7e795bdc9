package poolwait_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/internal/fakesql"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/poolwait"
)

func TestConnectorMeasuresHoldsAndQueries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, view, err := poolwait.OpenDB(fakesql.Timed{}, poolwait.ConnectorConfig{Name: "orders"})
		require.NoError(t, err)
		defer db.Close()
		db.SetMaxOpenConns(2)

		for range 3 {
			_, err := db.ExecContext(t.Context(), "sleep 100ms")
			require.NoError(t, err)
		}
		// A checkout held 250 ms across two statements.
		c, err := db.Conn(t.Context())
		require.NoError(t, err)
		_, err = c.ExecContext(t.Context(), "sleep 50ms")
		require.NoError(t, err)
		time.Sleep(200 * time.Millisecond) // the caller holds it meanwhile
		rows, err := c.QueryContext(t.Context(), "select")
		require.NoError(t, err)
		require.NoError(t, rows.Close())
		require.NoError(t, c.Close())

		ps := view.PoolStats()
		assert.Equal(t, "database/sql", ps.Kind)
		assert.Equal(t, "orders", view.PoolName())
		assert.Equal(t, 2, ps.Max)
		assert.Zero(t, ps.InUse)
		assert.Equal(t, 1, ps.Idle)
		assert.Equal(t, -1, ps.Pending, "database/sql does not tell")
		assert.False(t, ps.WaitMeasured)
		assert.True(t, ps.HoldMeasured)
		assert.Equal(t, uint64(4), ps.Hold.Count, "four checkouts")
		assert.Equal(t, 550*time.Millisecond, ps.Hold.Total)
		assert.Equal(t, 250*time.Millisecond, ps.Hold.Max)
		assert.InEpsilon(t, float64(100*time.Millisecond), float64(ps.Hold.Quantile(0.5)), poolwait.QuantileError)
		assert.Equal(t, uint64(4), ps.Acquired)

		q := view.Connector().Queries()
		assert.Equal(t, uint64(5), q.Count)
		assert.Equal(t, 350*time.Millisecond, q.Total)
	})
}

func TestConnectorRecordsQueriesInTheLedger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, _, err := poolwait.OpenDB(fakesql.Timed{}, poolwait.ConnectorConfig{Name: "orders"})
		require.NoError(t, err)
		defer db.Close()
		ctx, l := ledger.Start(t.Context())
		_, err = db.ExecContext(ctx, "sleep 30ms")
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, "fail")
		require.ErrorIs(t, err, fakesql.ErrFail)
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err = db.QueryContext(short, "sleep 1s")
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, []ledger.Entry{
			{Name: "orders", Kind: ledger.Attempt, Start: 0, Duration: 30 * time.Millisecond},
			{Name: "orders", Kind: ledger.Attempt, Start: 30 * time.Millisecond, Outcome: "failed"},
			{Name: "orders", Kind: ledger.Attempt, Start: 30 * time.Millisecond, Duration: 20 * time.Millisecond, Outcome: "timeout"},
		}, l.Entries())
	})
}

func TestConnectorReportsALeakedConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got leaks
		db, view, err := poolwait.OpenDB(fakesql.Timed{}, poolwait.ConnectorConfig{Name: "orders", LeakAfter: time.Second, OnLeak: got.add})
		require.NoError(t, err)
		defer db.Close()

		// Rows left open hold their connection.
		rows, err := db.QueryContext(t.Context(), "select")
		require.NoError(t, err)
		time.Sleep(3 * time.Second)
		reports := got.all()
		require.Len(t, reports, 1)
		assert.Equal(t, "orders", reports[0].Pool)
		assert.Contains(t, reports[0].Stack, "poolwait_test.TestConnectorReportsALeakedConnection")
		assert.NotContains(t, reports[0].Stack[:len("database/sql")], "database/sql", "database/sql's frames are left out")
		assert.Equal(t, 1, view.PoolStats().OpenLeaks)

		require.NoError(t, rows.Close())
		reports = got.all()
		require.Len(t, reports, 2)
		assert.True(t, reports[1].Returned)
		assert.Equal(t, 3*time.Second, reports[1].Held)
		ps := view.PoolStats()
		assert.Zero(t, ps.OpenLeaks)
		assert.Equal(t, uint64(1), ps.Leaks)

		// One under the threshold is never reported.
		_, err = db.ExecContext(t.Context(), "sleep 900ms")
		require.NoError(t, err)
		synctest.Wait()
		assert.Len(t, got.all(), 2)
	})
}

func TestConnectorKeepsTheDriversInterfacesAndAddsIsValid(t *testing.T) {
	for _, c := range []struct {
		name   string
		next   driver.Connector
		resets bool
	}{
		{"a driver with both", fakesql.Timed{}, true},
		{"a driver with neither", fakesql.Connector{}, false},
		{"a driver with ResetSession only", fakesql.Resetting{}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := poolwait.Connector(c.next, poolwait.ConnectorConfig{Name: "db"})
			require.NoError(t, err)
			dc, err := conn.Connect(t.Context())
			require.NoError(t, err)
			defer dc.Close()
			_, resets := dc.(driver.SessionResetter)
			_, validates := dc.(driver.Validator)
			assert.Equal(t, c.resets, resets)
			assert.True(t, validates, "the end of a checkout is seen only through IsValid")
		})
	}
}

// A driver with ResetSession and no IsValid: after a transaction that a
// cancelled ctx rolled back, database/sql keeps the connection (as it
// does for a driver with both) if the rollback went well, and closes it
// if it failed.
func TestConnectorWithResetSessionOnlyDiscardsAConnectionWhoseRollbackFailed(t *testing.T) {
	for _, c := range []struct {
		failRollback bool
		open         int
	}{{false, 1}, {true, 0}} {
		synctest.Test(t, func(t *testing.T) {
			db, view, err := poolwait.OpenDB(fakesql.Resetting{FailRollback: c.failRollback}, poolwait.ConnectorConfig{Name: "db"})
			require.NoError(t, err)
			defer db.Close()
			ctx, cancel := context.WithCancel(t.Context())
			tx, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			_, err = tx.ExecContext(ctx, "sleep 10ms")
			require.NoError(t, err)
			cancel() // database/sql rolls it back
			synctest.Wait()
			assert.Equal(t, c.open, db.Stats().OpenConnections, "rollback failed: %v", c.failRollback)
			assert.Equal(t, uint64(1), view.PoolStats().Hold.Count, "the hold is measured")
		})
	}
}

func TestConnectorWithAPlainDriverStillWorks(t *testing.T) {
	db, view, err := poolwait.OpenDB(fakesql.Connector{}, poolwait.ConnectorConfig{Name: "plain"})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(t.Context(), "select 1")
	assert.Error(t, err, "the fake driver prepares nothing: database/sql's own way fails as it would unwrapped")
	c, err := db.Conn(t.Context())
	require.NoError(t, err)
	require.NoError(t, c.PingContext(t.Context()))
	require.NoError(t, c.Close())
	assert.Equal(t, "database/sql", view.PoolStats().Kind)
}

func TestConnectorConfigErrors(t *testing.T) {
	var nilConnector *fakesql.Connector
	for _, c := range []struct {
		next driver.Connector
		cfg  poolwait.ConnectorConfig
		want string
	}{
		{nil, poolwait.ConnectorConfig{Name: "db"}, "poolwait: Connector: next is nil"},
		{nilConnector, poolwait.ConnectorConfig{Name: "db"}, "poolwait: Connector: next is a nil *fakesql.Connector"},
		{fakesql.Timed{}, poolwait.ConnectorConfig{}, "poolwait: ConnectorConfig.Name is required: it names the pool in metrics and leak reports"},
		{fakesql.Timed{}, poolwait.ConnectorConfig{Name: "db", LeakAfter: 10}, "poolwait: ConnectorConfig.LeakAfter must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{fakesql.Timed{}, poolwait.ConnectorConfig{Name: "db", LeakAfter: -time.Second}, "poolwait: ConnectorConfig.LeakAfter must be >= 0, got -1s"},
	} {
		_, err := poolwait.Connector(c.next, c.cfg)
		assert.EqualError(t, err, c.want)
		_, _, err = poolwait.OpenDB(c.next, c.cfg)
		assert.EqualError(t, err, c.want)
	}
}

func TestDBPoolStatsWithoutAConnector(t *testing.T) {
	db := sql.OpenDB(fakesql.Timed{})
	defer db.Close()
	db.SetMaxOpenConns(3)
	view, err := poolwait.NewDB(db, poolwait.WithName("legacy"))
	require.NoError(t, err)
	c, err := db.Conn(t.Context())
	require.NoError(t, err)
	ps := view.PoolStats()
	assert.Equal(t, poolwait.PoolStats{Kind: "database/sql", InUse: 1, Max: 3, Pending: -1}, ps)
	require.NoError(t, c.Close())
	assert.Equal(t, "legacy", view.PoolName())

	var nilDB *poolwait.DB
	assert.Equal(t, poolwait.PoolStats{Kind: "database/sql", Pending: -1}, nilDB.PoolStats())
	_, err = poolwait.NewDB(db, nil)
	assert.EqualError(t, err, "poolwait: NewDB: an option is nil")
}
