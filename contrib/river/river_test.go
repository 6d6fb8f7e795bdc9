package watertightriver_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/bulkhead"
	watertightriver "github.com/watertight-go/watertight/contrib/river"
	"github.com/watertight-go/watertight/internal/servertest"
	"github.com/watertight-go/watertight/retry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(servertest.Main(m)) }

type pgxTx = pgx.Tx

// discard is River's logger in tests: its warnings about snoozed and
// failed jobs are what the tests make happen.
var discard = slog.New(slog.DiscardHandler)

// sqliteDriver opens a fresh SQLite file for River, as River's own tests
// do: modernc's driver, WAL, one connection (more give SQLITE_BUSY).
func sqliteDriver(t *testing.T) riverdriver.Driver[*sql.Tx] {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "river.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return riversqlite.New(db)
}

// pgDriver opens River's pgx driver on a database of its own on the real
// PostgreSQL that servertest starts.
func pgDriver(t *testing.T) riverdriver.Driver[pgxTx] {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), servertest.Postgres(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return riverpgxv5.New(pool)
}

// startRiver migrates the database and starts a River client with
// workers and the Middleware, polling often so that tests are quick.
func startRiver[TTx any](t *testing.T, driver riverdriver.Driver[TTx], workers *river.Workers, mw *watertightriver.Middleware, maxWorkers int) *river.Client[TTx] {
	t.Helper()
	migrator, err := rivermigrate.New(driver, nil)
	require.NoError(t, err)
	_, err = migrator.Migrate(t.Context(), rivermigrate.DirectionUp, nil)
	require.NoError(t, err)
	client, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		Workers:           workers,
		Middleware:        []rivertype.Middleware{mw},
		FetchCooldown:     time.Millisecond,
		FetchPollInterval: 5 * time.Millisecond,
		JobTimeout:        -1, // the policies bound the work
		MaxAttempts:       2,
		TestOnly:          true,
		Logger:            discard,
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, client.Stop(ctx))
	})
	return client
}

type outcomeArgs struct {
	Do string `json:"do"` // "ok", "permanent", "fail"
}

func (outcomeArgs) Kind() string { return "outcome" }

type outcomeWorker struct {
	river.WorkerDefaults[outcomeArgs]
	runs atomic.Int64
}

var errBoom = errors.New("500 from the receiver")

func (w *outcomeWorker) Work(ctx context.Context, job *river.Job[outcomeArgs]) error {
	w.runs.Add(1)
	switch job.Args.Do {
	case "permanent":
		return retry.Permanent(fmt.Errorf("410 gone: %w", errBoom))
	case "fail":
		return errBoom
	}
	return nil
}

// waitFor polls River until job id reaches state.
func waitFor[TTx any](t *testing.T, client *river.Client[TTx], id int64, state rivertype.JobState) *rivertype.JobRow {
	t.Helper()
	var row *rivertype.JobRow
	require.Eventually(t, func() bool {
		var err error
		row, err = client.JobGet(context.Background(), id)
		return err == nil && row.State == state
	}, time.Minute, 5*time.Millisecond, "job %d never reached %s (last: %+v)", id, state, row)
	return row
}

// outcomes runs the package doc's table on one backend: a job that goes
// through is done, one whose error is Permanent is cancelled, one that
// fails otherwise goes back to River's retries, and one a policy refuses
// is snoozed — without using up an attempt, however often.
func outcomes[TTx any](t *testing.T, driver riverdriver.Driver[TTx]) {
	gate := bulkhead.MustNew(bulkhead.Config{Name: "outcome", MaxConcurrent: 1})
	mw, err := watertightriver.New(watertightriver.Config{
		Kinds:  []watertightriver.KindPolicy{{Kind: "outcome", Policy: gate}},
		Snooze: 20 * time.Millisecond,
	})
	require.NoError(t, err)
	workers := river.NewWorkers()
	w := &outcomeWorker{}
	river.AddWorker(workers, w)
	client := startRiver(t, driver, workers, mw, 4)
	insert := func(do string) int64 {
		res, err := client.Insert(t.Context(), outcomeArgs{Do: do}, &river.InsertOpts{MaxAttempts: 1})
		require.NoError(t, err)
		return res.Job.ID
	}

	ok := waitFor(t, client, insert("ok"), rivertype.JobStateCompleted)
	assert.Equal(t, 1, ok.Attempt)
	cancelled := waitFor(t, client, insert("permanent"), rivertype.JobStateCancelled)
	assert.Contains(t, cancelled.Errors[0].Error, "410 gone")
	discarded := waitFor(t, client, insert("fail"), rivertype.JobStateDiscarded)
	assert.Equal(t, 1, discarded.Attempt, "River's own retries: one attempt, used up")

	// The bulkhead is full: the job is refused, snoozed again and again,
	// and done once there is room, with its one attempt intact.
	release, err := gate.Acquire(t.Context())
	require.NoError(t, err)
	refused := insert("ok")
	require.Eventually(t, func() bool { st, _ := mw.Kind("outcome"); return st.Snoozed >= 3 }, time.Minute, 5*time.Millisecond)
	release()
	done := waitFor(t, client, refused, rivertype.JobStateCompleted)
	assert.Equal(t, 1, done.Attempt, "snoozes use up no attempt")
	var meta struct{ Snoozes int }
	require.NoError(t, json.Unmarshal(done.Metadata, &meta))
	assert.GreaterOrEqual(t, meta.Snoozes, 3, "River's count of the job's snoozes")

	st, found := mw.Kind("outcome")
	require.True(t, found)
	t.Logf("outcome: worked %d, failed %d, snoozed %d, cancelled %d", st.Worked, st.Failed, st.Snoozed, st.Canceled)
	assert.Equal(t, "river", st.Engine)
	assert.Equal(t, uint64(1), st.Canceled)
	assert.Equal(t, uint64(1), st.Failed)
	assert.Equal(t, st.Worked, st.Snoozed+4, "every job worked: four that ran, the snoozes")
	assert.Equal(t, int64(4), w.runs.Load(), "a refused job's work never ran")
	assert.Equal(t, st.Worked, st.Run.Count)
}

func TestOutcomesOnSQLite(t *testing.T)     { outcomes(t, sqliteDriver(t)) }
func TestOutcomesOnPostgreSQL(t *testing.T) { outcomes(t, pgDriver(t)) }

func TestConfigErrors(t *testing.T) {
	var nilBulkhead *bulkhead.Bulkhead
	b := bulkhead.MustNew(bulkhead.Config{Name: "x", MaxConcurrent: 1})
	for _, c := range []struct {
		cfg  watertightriver.Config
		want string
	}{
		{watertightriver.Config{Kinds: []watertightriver.KindPolicy{{Kind: "a"}}}, `watertightriver: Config.Kinds[0] ("a"): Policy is nil; give the kind a policy, or leave it out to run it under Config.Default`},
		{watertightriver.Config{Kinds: []watertightriver.KindPolicy{{Kind: "a", Policy: nilBulkhead}}}, `watertightriver: Config.Kinds[0] ("a"): Policy is a nil *bulkhead.Bulkhead; give the kind a policy, or leave it out to run it under Config.Default`},
		{watertightriver.Config{Kinds: []watertightriver.KindPolicy{{Kind: "a", Policy: b}, {Kind: "a", Policy: b}}}, `watertightriver: Config.Kinds[1]: job kind "a" is given a policy twice`},
		{watertightriver.Config{Kinds: []watertightriver.KindPolicy{{Policy: b}}}, `watertightriver: Config.Kinds[0].Kind is empty`},
		{watertightriver.Config{Default: nilBulkhead}, `watertightriver: Config.Default is a nil *bulkhead.Bulkhead`},
		{watertightriver.Config{Snooze: -time.Second}, `watertightriver: Config.Snooze must be >= 0, got -1s`},
		{watertightriver.Config{Snooze: 10}, `watertightriver: Config.Snooze must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)`},
		{watertightriver.Config{SlowAfter: 10}, `watertightriver: Config.SlowAfter must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)`},
	} {
		_, err := watertightriver.New(c.cfg)
		assert.EqualError(t, err, c.want)
	}
	_ = watertight.Chain()
}
