package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/dashboard"
	"github.com/watertight-go/watertight/internal/servertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(servertest.Main(m)) }

// shortScenario is the demo cut down for CI: the margins asserted below
// are wide enough for a loaded 2-core machine.
func shortScenario(db, dsn string) Config {
	cfg := defaultConfig()
	cfg.Duration = 4 * time.Second
	cfg.Slowness = 2 * time.Second
	cfg.ClientTimeout = 2 * time.Second
	cfg.DB, cfg.DSN = db, dsn
	return cfg
}

func checkEffect(t *testing.T, res *Results) {
	t.Helper()
	require.Len(t, res.Runs, 2)
	unprotected, protected := res.Runs[0].Endpoints[0], res.Runs[1].Endpoints[0]
	require.Equal(t, "healthy", unprotected.Endpoint)
	t.Logf("%s", res.Summary)

	// Unprotected, the healthy endpoint suffers: a p99 at least 10 times
	// the protected one, or requests that time out.
	assert.True(t, unprotected.P99 >= 10*protected.P99 || unprotected.SuccessRate < 0.99,
		"unprotected healthy p99 %v, success %.3f; protected p99 %v", unprotected.P99, unprotected.SuccessRate, protected.P99)
	// Protected, it is served.
	assert.GreaterOrEqual(t, protected.SuccessRate, 0.99)

	// The ledgers say where the time went: unprotected, a healthy request
	// waited for a database connection; protected, an enrich request's
	// call to the prices API ran into its timeout.
	assert.Contains(t, strings.Join(res.Runs[0].Ledgers, "\n"), `path=/item`)
	assert.Contains(t, strings.Join(res.Runs[0].Ledgers, "\n"), `ledger.db.wait.dur=`)
	assert.Contains(t, strings.Join(res.Runs[1].Ledgers, "\n"), `ledger.prices.expired.dur=`)
	assert.Less(t, protected.P99, time.Second)
	// The pool's own wait p99: unprotected, checkouts waited seconds;
	// protected, hardly at all.
	t.Logf("db wait p99: unprotected %v, protected %v", res.Runs[0].DBWaitP99, res.Runs[1].DBWaitP99)
	assert.Greater(t, res.Runs[0].DBWaitP99, 500*time.Millisecond)
	assert.Less(t, res.Runs[1].DBWaitP99, 100*time.Millisecond)
	assert.Greater(t, res.Runs[0].PeakGoroutines, res.Runs[1].PeakGoroutines, "unprotected, goroutines pile up")
}

func TestScenarioSQLite(t *testing.T) {
	res, err := Run(context.Background(), shortScenario("sql", ""))
	require.NoError(t, err)
	checkEffect(t, res)
	assert.NotEmpty(t, res.SVG())
}

// TestScenarioPostgreSQL runs the same scenario on a real PostgreSQL
// (internal/servertest starts one), through database/sql.
func TestScenarioPostgreSQL(t *testing.T) {
	res, err := Run(context.Background(), shortScenario("sql", servertest.Postgres(t)))
	require.NoError(t, err)
	assert.Equal(t, "PostgreSQL through database/sql", res.Database)
	checkEffect(t, res)
}

// TestScenarioPgxpool runs it through pgxpool (-db pgx), whose tracer
// measures every checkout's wait.
func TestScenarioPgxpool(t *testing.T) {
	res, err := Run(context.Background(), shortScenario("pgx", servertest.Postgres(t)))
	require.NoError(t, err)
	assert.Equal(t, "PostgreSQL through pgxpool", res.Database)
	checkEffect(t, res)
	var table strings.Builder
	res.WriteTable(&table)
	assert.Contains(t, table.String(), "db wait p99")
}

func TestPgxNeedsADSN(t *testing.T) {
	_, err := Run(context.Background(), shortScenario("pgx", ""))
	assert.EqualError(t, err, "-db pgx needs -dsn postgres://…")
	_, err = Run(context.Background(), shortScenario("mysql", ""))
	assert.EqualError(t, err, `-db "mysql": want sql (database/sql, the default) or pgx (pgxpool)`)
}

func TestTheProtectedAPIServesItsDashboard(t *testing.T) {
	a, err := newAPI(nil, "http://127.0.0.1:1", true)
	require.NoError(t, err)
	defer a.close()
	rec := httptest.NewRecorder()
	a.handler().ServeHTTP(rec, httptest.NewRequest("GET", dashboardPath+"?format=json", nil))
	require.Equal(t, 200, rec.Code)
	var snap dashboard.Snapshot
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &snap))
	var ids []string
	for _, g := range snap.Groups {
		for _, c := range g.Cards {
			ids = append(ids, c.ID)
		}
	}
	assert.Equal(t, []string{"breaker/prices", "bulkhead/prices", "timeout/prices", "timeout/request"}, ids)

	unprotected, err := newAPI(nil, "http://127.0.0.1:1", false)
	require.NoError(t, err)
	rec = httptest.NewRecorder()
	unprotected.handler().ServeHTTP(rec, httptest.NewRequest("GET", dashboardPath, nil))
	assert.Equal(t, 404, rec.Code, "nothing to show unprotected")
}
