package watertightprom_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/internal/fakesql"
	"github.com/watertight-go/watertight/poolwait"

	watertightprom "github.com/watertight-go/watertight/contrib/prometheus"
)

func TestDatabasePool(t *testing.T) {
	db := sql.OpenDB(fakesql.Connector{})
	defer db.Close()
	db.SetMaxOpenConns(3)
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	sampler, err := poolwait.NewDB(db)
	require.NoError(t, err)

	c := watertightprom.NewCollector()
	require.NoError(t, c.AddDB("orders", sampler))
	expected := `
# HELP watertight_sql_in_use_connections Connections checked out now.
# TYPE watertight_sql_in_use_connections gauge
watertight_sql_in_use_connections{name="orders"} 1
# HELP watertight_sql_max_open_connections The database pool's limit (0: unlimited).
# TYPE watertight_sql_max_open_connections gauge
watertight_sql_max_open_connections{name="orders"} 3
# HELP watertight_sql_waits_total Checkouts that had to wait for a connection.
# TYPE watertight_sql_waits_total counter
watertight_sql_waits_total{name="orders"} 0
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected),
		"watertight_sql_in_use_connections", "watertight_sql_max_open_connections", "watertight_sql_waits_total"))
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	require.Empty(t, problems)
}

// Two pools with one name are an error from AddDB: they would export
// colliding series, and every scrape of /metrics — the Go runtime's
// metrics included — would fail.
func TestTwoPoolsWithOneNameAreAnError(t *testing.T) {
	db1, db2 := sql.OpenDB(fakesql.Connector{}), sql.OpenDB(fakesql.Connector{})
	defer db1.Close()
	defer db2.Close()
	s1, _ := poolwait.NewDB(db1)
	s2, _ := poolwait.NewDB(db2)
	c := watertightprom.NewCollector()
	require.NoError(t, c.AddDB("pg", s1))
	require.NoError(t, c.AddDB("pg", s1), "the same pool again")
	err := c.AddDB("pg", s2)
	require.EqualError(t, err, `watertightprom: AddDB: another *poolwait.DB is named "pg" already; give each pool a name of its own (two would export colliding series, and every scrape would fail)`)
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))
	_, err = reg.Gather()
	require.NoError(t, err, "the scrape still works")
}
