package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/dashboard"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// shortScenario is the demo cut down for CI: the margins asserted below
// are wide enough for a loaded 2-core machine.
func shortScenario(dsn string) Config {
	cfg := defaultConfig()
	cfg.Duration = 4 * time.Second
	cfg.Slowness = 2 * time.Second
	cfg.ClientTimeout = 2 * time.Second
	cfg.DSN = dsn
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
	assert.Greater(t, res.Runs[0].PeakGoroutines, res.Runs[1].PeakGoroutines, "unprotected, goroutines pile up")
}

func TestScenarioSQLite(t *testing.T) {
	res, err := Run(context.Background(), shortScenario(""))
	require.NoError(t, err)
	checkEffect(t, res)
	assert.NotEmpty(t, res.SVG())
}

// TestScenarioPostgreSQL runs the same scenario on PostgreSQL when one is
// reachable: WATERTIGHT_TEST_PG_DSN, or a local server on the default
// port that accepts the postgres user.
func TestScenarioPostgreSQL(t *testing.T) {
	dsn := os.Getenv("WATERTIGHT_TEST_PG_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err = db.PingContext(ctx)
	cancel()
	db.Close()
	if err != nil {
		t.Skipf("no PostgreSQL reachable at %s (set WATERTIGHT_TEST_PG_DSN to run this test): %v", dsn, err)
	}
	res, err := Run(context.Background(), shortScenario(dsn))
	require.NoError(t, err)
	checkEffect(t, res)
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
