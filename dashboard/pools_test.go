package dashboard_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/dashboard"
	"github.com/watertight-go/watertight/internal/fakesql"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
)

// leakyPool stands for a pool that tells every checkout (contrib/pgx),
// which the root module does not import, holding connections past its
// leak threshold.
type leakyPool struct {
	wait, hold poolwait.Recorder
	openLeaks  atomic.Int64
}

func (*leakyPool) PoolName() string { return "accounts" }

func (p *leakyPool) PoolStats() poolwait.PoolStats {
	return poolwait.PoolStats{
		Kind: "pgx", InUse: 4, Idle: 0, Max: 4, Pending: 3,
		WaitMeasured: true, Wait: p.wait.Stats(),
		HoldMeasured: true, Hold: p.hold.Stats(), Acquired: p.wait.Stats().Count,
		OpenLeaks: int(p.openLeaks.Load()), Leaks: uint64(p.openLeaks.Load()),
	}
}

// Every pool gets a card, whatever its kind: in use against its limit,
// its wait (p50 and p99 where it measures every wait, the mean where it
// does not), its hold p99, and its open leaks in red.
func TestAConnectionPoolCard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, orders, err := poolwait.OpenDB(fakesql.Timed{}, poolwait.ConnectorConfig{Name: "orders"})
		require.NoError(t, err)
		defer db.Close()
		db.SetMaxOpenConns(1)
		accounts := &leakyPool{}
		d, err := dashboard.New(orders, accounts)
		require.NoError(t, err)

		// database/sql: one caller holds the connection 300 ms, another
		// waits for it that long.
		c, err := db.Conn(context.Background())
		require.NoError(t, err)
		done := make(chan error)
		go func() { _, err := db.ExecContext(context.Background(), "select"); done <- err }()
		synctest.Wait()
		_, err = c.ExecContext(context.Background(), "sleep 300ms")
		require.NoError(t, err)
		require.NoError(t, c.Close())
		require.NoError(t, <-done)
		// pgx: waits of 0 and 20 ms, holds of 40 ms, one connection leaked.
		for _, w := range []time.Duration{0, 0, 0, 20 * time.Millisecond} {
			accounts.wait.Observe(w)
			accounts.hold.Observe(40 * time.Millisecond)
		}
		accounts.openLeaks.Store(1)
		<-time.After(time.Second)

		snap := snapshot(t, d)
		sql := card(t, snap, "connection_pool/orders")
		assert.Equal(t, "ok", sql.Status)
		assert.Equal(t, 0, *sql.InFlight)
		assert.Equal(t, 1, *sql.Limit)
		assert.Nil(t, sql.Queued, "database/sql does not tell who waits")
		assert.Nil(t, sql.Wait, "nor each wait")
		require.NotNil(t, sql.Pool)
		assert.Equal(t, "database/sql", sql.Pool.Kind)
		assert.InDelta(t, 300, sql.Pool.MeanWaitMS, 0.5, "its one wait, by database/sql's own count")
		require.NotNil(t, sql.Hold)
		assert.Equal(t, uint64(2), sql.Hold.Count)
		assert.InEpsilon(t, 300, sql.Hold.P99MS, poolwait.QuantileError)

		pgx := card(t, snap, "connection_pool/accounts")
		assert.Equal(t, "warn", pgx.Status)
		assert.Equal(t, "leaking", pgx.State)
		assert.Equal(t, "1 connections held past the leak threshold", pgx.Detail)
		assert.Equal(t, 3, *pgx.Queued)
		require.NotNil(t, pgx.Wait)
		assert.Equal(t, "wait for a connection", pgx.Wait.What)
		assert.Equal(t, uint64(4), pgx.Wait.Count)
		assert.InEpsilon(t, 20, pgx.Wait.P99MS, poolwait.QuantileError)
		assert.Zero(t, pgx.Wait.P50MS)
		assert.InEpsilon(t, 40, pgx.Hold.P99MS, poolwait.QuantileError)
		assert.Equal(t, 1, pgx.Pool.OpenLeaks)
		require.NotEmpty(t, snap.Summary)
		assert.Equal(t, "connection_pool/accounts", snap.Summary[0].ID)

		// The page: the pool's rows, its open leaks marked.
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		body, _ := io.ReadAll(rec.Body)
		page := string(body)
		for _, want := range []string{
			`<div><dt>in use</dt><dd data-f="in_flight" data-of="limit">4 / 4</dd></div>`,
			`<div><dt>waiting</dt><dd data-f="queued">3</dd></div>`,
			`<div><dt>held, p99</dt><dd data-f="hold.p99_ms" data-fmt="ms">`,
			`<div><dt>open leaks</dt><dd data-f="pool.open_leaks" data-alert class="alert">1</dd></div>`,
			`<div><dt>open leaks</dt><dd data-f="pool.open_leaks" data-alert>0</dd></div>`,
			`<div><dt>mean wait</dt><dd data-f="pool.mean_wait_ms" data-fmt="ms">300 ms</dd></div>`,
		} {
			assert.Contains(t, page, want)
		}
		assert.Equal(t, 1, strings.Count(page, "mean wait"), "only the pool that tells no single wait")
	})
}

// fakeJobs stands for contrib/river's Middleware: a set of job kinds,
// whose counts the test moves.
type fakeJobs struct{ hooks, mail *fakeKind }

type fakeKind struct {
	name    string
	snoozed atomic.Uint64
}

func (f fakeJobs) JobKinds() []pool.JobKind { return []pool.JobKind{f.hooks, f.mail} }
func (k *fakeKind) JobKind() string         { return k.name }
func (k *fakeKind) JobStats() pool.JobStats {
	return pool.JobStats{Engine: "river", Running: 2, Worked: 10 + k.snoozed.Load(), Snoozed: k.snoozed.Load()}
}

// Every job kind gets a card; one whose jobs a policy refuses, and River
// snoozes, shows it.
func TestAJobKindCard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		jobs := fakeJobs{hooks: &fakeKind{name: "post_webhook"}, mail: &fakeKind{name: "send_email"}}
		d, err := dashboard.New(jobs)
		require.NoError(t, err)
		<-time.After(2 * time.Second)
		jobs.hooks.snoozed.Add(4)
		snap := snapshot(t, d)
		hooks := card(t, snap, "jobs/post_webhook")
		assert.Equal(t, "refusing", hooks.Status)
		assert.Equal(t, "4 snoozed by a refusal in 2.0 s", hooks.Detail)
		assert.Equal(t, 2, *hooks.InFlight)
		assert.Equal(t, uint64(4), hooks.Totals["snoozed"])
		mail := card(t, snap, "jobs/send_email")
		assert.Equal(t, "ok", mail.Status)
		assert.Equal(t, "river jobs, 2 running", mail.Detail)
	})
}
