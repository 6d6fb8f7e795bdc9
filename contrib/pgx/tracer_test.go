package watertightpgx_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	watertightpgx "github.com/watertight-go/watertight/contrib/pgx"
	"github.com/watertight-go/watertight/internal/servertest"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/poolwait"
)

// These tests run a real PostgreSQL (internal/servertest) and make it
// slow with its own means: pg_sleep, and a LOCK TABLE held by another
// session. They run on real time: a server's clock is not synctest's.
// None waits for a state by sleeping; they assert no wall-clock time
// except where the database itself is made to take it (pg_sleep(0.1)
// holds a connection at least 100 ms), and bound it only from below
// (or loosely from above, for a -race build on a loaded machine).

func TestMain(m *testing.M) { goleak.VerifyTestMain(servertest.Main(m)) }

// newPool makes a pool of size conns, all connected before it returns,
// traced by a Tracer of cfg.
func newPool(t *testing.T, size int32, cfg watertightpgx.Config) (*pgxpool.Pool, *watertightpgx.Tracer) {
	t.Helper()
	pc, err := pgxpool.ParseConfig(servertest.Postgres(t))
	require.NoError(t, err)
	pc.MaxConns, pc.MinConns = size, size
	pool, tracer, err := watertightpgx.NewPool(t.Context(), pc, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	// Connect them all now, so that no acquire below waits for a connect.
	conns := make([]*pgxpool.Conn, size)
	for i := range conns {
		conns[i], err = pool.Acquire(t.Context())
		require.NoError(t, err)
	}
	for _, c := range conns {
		c.Release()
	}
	return pool, tracer
}

func TestWaitsAndHoldsAreTheRealOnes(t *testing.T) {
	pool, tracer := newPool(t, 4, watertightpgx.Config{Name: "orders"})
	before := tracer.PoolStats()

	// 8 callers, 4 connections, each held 100 ms by pg_sleep.
	var mu sync.Mutex
	var measured []time.Duration
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			<-start
			began := time.Now()
			c, err := pool.Acquire(t.Context())
			waited := time.Since(began)
			if !assert.NoError(t, err) {
				return
			}
			_, err = c.Exec(t.Context(), "SELECT pg_sleep(0.1)")
			assert.NoError(t, err)
			c.Release()
			mu.Lock()
			measured = append(measured, waited)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()

	after := tracer.PoolStats()
	wait := after.Wait.Sub(before.Wait)
	hold := after.Hold.Sub(before.Hold)
	slices.Sort(measured)
	var total time.Duration
	for _, d := range measured {
		total += d
	}
	t.Logf("waits the test measured: %v; recorded: count %d, total %v, p50 %v, p99 %v; holds: p50 %v, p99 %v",
		measured, wait.Count, wait.Total, wait.Quantile(0.5), wait.Quantile(0.99), hold.Quantile(0.5), hold.Quantile(0.99))

	assert.Equal(t, uint64(8), wait.Count, "one wait per acquire, zero waits included")
	assert.Equal(t, uint64(8), after.Acquired-before.Acquired)
	assert.GreaterOrEqual(t, measured[7], 100*time.Millisecond, "half the callers waited for a connection held 100 ms")
	// The Tracer's wait is inside the test's: never longer, and shorter
	// only by the call into pgxpool.
	assert.LessOrEqual(t, wait.Total, total)
	assert.InEpsilon(t, float64(total), float64(wait.Total), poolwait.QuantileError)
	assert.InEpsilon(t, float64(measured[7]), float64(wait.Quantile(0.99)), 2*poolwait.QuantileError, "the longest wait, within a bucket")
	assert.Equal(t, uint64(8), hold.Count)
	assert.GreaterOrEqual(t, hold.Quantile(0.99), time.Duration(float64(100*time.Millisecond)*(1-poolwait.QuantileError)))
	assert.Less(t, hold.Quantile(0.99), 400*time.Millisecond, "a hold is the 100 ms sleep and a round trip")
	assert.Zero(t, after.Pending)
	assert.Equal(t, 4, after.Max)
	assert.Equal(t, 4, after.Idle)
	assert.Zero(t, after.InUse)
}

func TestALockedTableFillsThePoolAndTheWaitsShowIt(t *testing.T) {
	pool, tracer := newPool(t, 2, watertightpgx.Config{Name: "orders"})
	_, err := pool.Exec(t.Context(), "CREATE TABLE items (id int)")
	require.NoError(t, err)

	// Another session, not the pool's, locks the table.
	locker, err := pgx.Connect(t.Context(), pool.Config().ConnConfig.ConnString())
	require.NoError(t, err)
	defer locker.Close(context.Background())
	tx, err := locker.Begin(t.Context())
	require.NoError(t, err)
	_, err = tx.Exec(t.Context(), "LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)

	// Two requests read it and block on the lock, holding both
	// connections; two more wait for a connection.
	ledgers := make([]*ledger.Ledger, 4)
	var wg sync.WaitGroup
	for i := range ledgers {
		ctx, l := ledger.Start(t.Context())
		ledgers[i] = l
		wg.Go(func() {
			_, err := pool.Exec(ctx, "SELECT count(*) FROM items")
			assert.NoError(t, err)
		})
	}
	require.Eventually(t, func() bool {
		ps := tracer.PoolStats()
		return ps.InUse == 2 && ps.Pending == 2
	}, time.Minute, time.Millisecond, "two hold the connections, two wait for one")
	ps := tracer.PoolStats()
	assert.Zero(t, ps.Idle)

	require.NoError(t, tx.Commit(t.Context()))
	wg.Wait()

	// Every request's ledger has its query; the two that waited for a
	// connection have the wait too, ended as the first two finished.
	var waited int
	for _, l := range ledgers {
		var kinds []ledger.Kind
		for _, e := range l.Entries() {
			assert.Equal(t, "orders", e.Name)
			assert.Empty(t, e.Outcome)
			kinds = append(kinds, e.Kind)
		}
		if slices.Contains(kinds, ledger.Wait) {
			waited++
		}
		assert.Contains(t, kinds, ledger.Attempt)
	}
	assert.Equal(t, 2, waited)
	ps = tracer.PoolStats()
	assert.Zero(t, ps.Pending)
	assert.GreaterOrEqual(t, ps.Waits, uint64(2), "pgxpool's own count of acquires that found no idle connection")
}

func TestCancelledAcquiresAreCountedAsCancelled(t *testing.T) {
	pool, tracer := newPool(t, 1, watertightpgx.Config{Name: "orders"})
	held, err := pool.Acquire(t.Context())
	require.NoError(t, err)
	before := tracer.PoolStats()

	ctx, l := ledger.Start(t.Context())
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err = pool.Acquire(short)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	ctx2, cancel2 := context.WithCancel(t.Context())
	cancel2()
	_, err = pool.Acquire(ctx2)
	require.ErrorIs(t, err, context.Canceled)
	held.Release()

	after := tracer.PoolStats()
	assert.Equal(t, uint64(2), after.Canceled-before.Canceled)
	assert.Equal(t, before.Acquired, after.Acquired, "not a wait that got a connection")
	assert.Equal(t, before.Wait.Count, after.Wait.Count, "a cancelled acquire is not in the waits")
	assert.Equal(t, before.Failed, after.Failed)
	entries := l.Entries()
	require.Len(t, entries, 1)
	assert.Equal(t, ledger.Wait, entries[0].Kind)
	assert.Equal(t, "timeout", entries[0].Outcome)
	assert.GreaterOrEqual(t, entries[0].Duration, 20*time.Millisecond)
}

func TestALeakedConnectionIsReportedWithItsStack(t *testing.T) {
	reports := make(chan poolwait.Leak, 4)
	pool, tracer := newPool(t, 2, watertightpgx.Config{Name: "orders", LeakAfter: 50 * time.Millisecond, OnLeak: func(l poolwait.Leak) { reports <- l }})
	tracer.PoolStats()

	// Held under the threshold: never reported (the timer is stopped; the
	// poolwait tests check that with a fake clock).
	var n int
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT 1").Scan(&n))

	// Rows never closed hold their connection.
	rows, err := pool.Query(t.Context(), "SELECT 1")
	require.NoError(t, err)
	leak := <-reports
	assert.Equal(t, "orders", leak.Pool)
	assert.False(t, leak.Returned)
	assert.Equal(t, 50*time.Millisecond, leak.Held)
	assert.Regexp(t, `^github.com/watertight-go/watertight/contrib/pgx_test.TestALeakedConnectionIsReportedWithItsStack\n`, leak.Stack,
		"the stack starts where the test took the connection: pgx's, puddle's and our frames are left out")
	assert.Equal(t, 1, tracer.PoolStats().OpenLeaks)

	rows.Close()
	back := <-reports
	assert.True(t, back.Returned)
	assert.GreaterOrEqual(t, back.Held, 50*time.Millisecond)
	assert.Equal(t, leak.Stack, back.Stack)
	ps := tracer.PoolStats()
	assert.Zero(t, ps.OpenLeaks)
	assert.Equal(t, uint64(1), ps.Leaks)

	// A forgotten Release, the same.
	c, err := pool.Acquire(t.Context())
	require.NoError(t, err)
	leak = <-reports
	assert.Contains(t, leak.Stack, "TestALeakedConnectionIsReportedWithItsStack")
	c.Release()
	<-reports
	select {
	case r := <-reports:
		t.Fatalf("one more report: %+v", r)
	default:
	}
}

func TestQueriesBatchesAndCopiesAreTimedAndInTheLedger(t *testing.T) {
	pool, tracer := newPool(t, 1, watertightpgx.Config{Name: "orders"})
	_, err := pool.Exec(t.Context(), "CREATE TABLE items (id int)")
	require.NoError(t, err)
	before := tracer.Queries()

	ctx, l := ledger.Start(t.Context())
	_, err = pool.Exec(ctx, "SELECT pg_sleep(0.05)")
	require.NoError(t, err)
	_, err = pool.Exec(ctx, "SELECT nonsense FROM nowhere")
	require.Error(t, err)
	b := &pgx.Batch{}
	b.Queue("SELECT 1")
	b.Queue("SELECT 2")
	require.NoError(t, pool.SendBatch(ctx, b).Close())
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"items"}, []string{"id"}, pgx.CopyFromRows([][]any{{1}, {2}}))
	require.NoError(t, err)

	assert.Equal(t, uint64(4), tracer.Queries().Count-before.Count, "a query, a failed one, a batch as one, a copy")
	var outcomes []string
	for _, e := range l.Entries() {
		if e.Kind == ledger.Attempt {
			outcomes = append(outcomes, e.Outcome)
		}
	}
	assert.Equal(t, []string{"", "failed", "", ""}, outcomes)
	assert.GreaterOrEqual(t, l.Entries()[0].Duration, 50*time.Millisecond)
}

// recorder is a tracer of the user's own, which the Tracer must pass
// every call to.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.calls = append(r.calls, s); r.mu.Unlock() }

type recorderKey struct{}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.add("query start")
	return context.WithValue(ctx, recorderKey{}, "mine")
}

func (r *recorder) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	r.add("query end " + fmt.Sprint(ctx.Value(recorderKey{})))
}

func (r *recorder) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	r.add("acquire start")
	return ctx
}

func (r *recorder) TraceAcquireEnd(context.Context, *pgxpool.Pool, pgxpool.TraceAcquireEndData) {
	r.add("acquire end")
}

func (r *recorder) TraceRelease(*pgxpool.Pool, pgxpool.TraceReleaseData) { r.add("release") }

func TestATracerYouHaveGetsEveryCall(t *testing.T) {
	mine := &recorder{}
	pc, err := pgxpool.ParseConfig(servertest.Postgres(t))
	require.NoError(t, err)
	pc.ConnConfig.Tracer = mine
	pool, tracer, err := watertightpgx.NewPool(t.Context(), pc, watertightpgx.Config{Name: "orders"})
	require.NoError(t, err)
	defer pool.Close()
	mine.mu.Lock()
	mine.calls = nil
	mine.mu.Unlock()

	_, err = pool.Exec(t.Context(), "SELECT 1")
	require.NoError(t, err)
	mine.mu.Lock()
	defer mine.mu.Unlock()
	assert.Equal(t, []string{"acquire start", "acquire end", "query start", "query end mine", "release"}, mine.calls,
		"its own ctx value comes back to it")
	assert.Equal(t, uint64(1), tracer.Queries().Count)
	assert.Equal(t, uint64(1), tracer.PoolStats().Acquired)
}

func TestOneTracerOnTwoPoolsReadsTheFirst(t *testing.T) {
	tracer, err := watertightpgx.New(watertightpgx.Config{Name: "orders"})
	require.NoError(t, err)
	dsn := servertest.Postgres(t)
	pools := make([]*pgxpool.Pool, 2)
	for i := range pools {
		pc, err := pgxpool.ParseConfig(dsn)
		require.NoError(t, err)
		pc.MaxConns = int32(3 + i)
		pc.ConnConfig.Tracer = tracer
		pools[i], err = pgxpool.NewWithConfig(t.Context(), pc)
		require.NoError(t, err)
		defer pools[i].Close()
	}
	assert.Zero(t, tracer.PoolStats().Max, "not seen before its first acquire")
	for _, p := range pools {
		c, err := p.Acquire(t.Context())
		require.NoError(t, err)
		c.Release()
	}
	ps := tracer.PoolStats()
	assert.Equal(t, 3, ps.Max, "the first pool's")
	assert.Equal(t, uint64(1), ps.Acquired, "the second pool's acquire is not mixed in")
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  watertightpgx.Config
		want string
	}{
		{watertightpgx.Config{}, "watertightpgx: Config.Name is required: it names the pool in metrics, ledgers and leak reports"},
		{watertightpgx.Config{Name: "db", LeakAfter: -time.Second}, "watertightpgx: Config.LeakAfter must be >= 0, got -1s"},
		{watertightpgx.Config{Name: "db", LeakAfter: 10}, "watertightpgx: Config.LeakAfter must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{watertightpgx.Config{Name: "db", Next: &watertightpgx.Tracer{}}, "watertightpgx: Config.Next is a *watertightpgx.Tracer: one Tracer measures a pool, and two would count it twice"},
	} {
		_, err := watertightpgx.New(c.cfg)
		assert.EqualError(t, err, c.want)
	}
	_, _, err := watertightpgx.NewPool(t.Context(), nil, watertightpgx.Config{Name: "db"})
	assert.EqualError(t, err, "watertightpgx: NewPool: cfg is nil")
	pc, err := pgxpool.ParseConfig("postgres://127.0.0.1:1/x")
	require.NoError(t, err)
	pc.ConnConfig.Tracer = &recorder{}
	_, _, err = watertightpgx.NewPool(t.Context(), pc, watertightpgx.Config{Name: "db", Next: &recorder{}})
	assert.EqualError(t, err, "watertightpgx: NewPool: both cfg.ConnConfig.Tracer and Config.Next are set; set one, and the Tracer passes every call to it")
}

// A nil *Tracer, set where pgx calls it, passes every call through.
func TestANilTracerIsANoOp(t *testing.T) {
	var tr *watertightpgx.Tracer
	ctx := context.Background()
	assert.NotPanics(t, func() {
		c := tr.TraceAcquireStart(ctx, nil, pgxpool.TraceAcquireStartData{})
		tr.TraceAcquireEnd(c, nil, pgxpool.TraceAcquireEndData{})
		tr.TraceRelease(nil, pgxpool.TraceReleaseData{})
		tr.TraceQueryEnd(tr.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{}), nil, pgx.TraceQueryEndData{})
		tr.TraceBatchQuery(ctx, nil, pgx.TraceBatchQueryData{})
		tr.TraceBatchEnd(tr.TraceBatchStart(ctx, nil, pgx.TraceBatchStartData{}), nil, pgx.TraceBatchEndData{})
		tr.TraceCopyFromEnd(tr.TraceCopyFromStart(ctx, nil, pgx.TraceCopyFromStartData{}), nil, pgx.TraceCopyFromEndData{})
		tr.TracePrepareEnd(tr.TracePrepareStart(ctx, nil, pgx.TracePrepareStartData{}), nil, pgx.TracePrepareEndData{})
		tr.TraceConnectEnd(tr.TraceConnectStart(ctx, pgx.TraceConnectStartData{}), pgx.TraceConnectEndData{})
	})
	assert.Equal(t, poolwait.PoolStats{Kind: "pgx"}, tr.PoolStats())
	assert.Empty(t, tr.PoolName())
	assert.Zero(t, tr.Queries().Count)
	assert.Nil(t, tr.Stat())
}
