package watertightpgx

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/poolwait"
)

// Config configures a Tracer.
type Config struct {
	// Name names the pool: in ledger entries, leak reports, metrics and on
	// the dashboard. Required: two pools must not share one.
	Name string

	// LeakAfter, if set, reports a connection held longer than this —
	// acquired and not released: a forgotten Release, Rows never closed —
	// once, with the stack that acquired it, and again when it comes back
	// with how long it was held (HikariCP's leakDetectionThreshold). The
	// stack is captured, and one timer started, only when it is set. Zero:
	// no leak detection. Negative, or under 1 ms (a bare number is
	// nanoseconds), is an error.
	LeakAfter time.Duration

	// OnLeak receives the leak reports, from a timer's goroutine or the one
	// that released the connection; a panic in it is logged and goes no
	// further. Nil: a slog warning with the pool, how long, and the stack.
	OnLeak func(poolwait.Leak)

	// Next is a tracer you already have (an OpenTelemetry tracer, a query
	// logger): every trace call goes to it too, inside the Tracer's own —
	// it starts after the Tracer's start and ends before the Tracer's end
	// — for each of pgx's tracer interfaces it has. Nil: none.
	Next pgx.QueryTracer
}

// Tracer is a pgx tracer that measures a pgxpool (see the package doc):
// set it as the pool's ConnConfig.Tracer, or make the pool with NewPool.
// It is a poolwait.Pool. It is safe for concurrent use.
type Tracer struct {
	name  string
	next  nextTracers
	holds *poolwait.Holds

	wait, query      poolwait.Recorder
	pending          atomic.Int64
	failed, canceled atomic.Uint64 // acquires that got a connection are wait.Count

	pool        atomic.Pointer[pgxpool.Pool] // the pool it reads: the first it saw
	warnedOther atomic.Bool                  // a second pool was seen, and logged
}

// nextTracers are Config.Next's tracer interfaces, those it has.
type nextTracers struct {
	query    pgx.QueryTracer
	batch    pgx.BatchTracer
	copyFrom pgx.CopyFromTracer
	prepare  pgx.PrepareTracer
	connect  pgx.ConnectTracer
	acquire  pgxpool.AcquireTracer
	release  pgxpool.ReleaseTracer
}

// pgxFrames are pgx's and puddle's own frames and ours, left out of a
// leak's stack so that it starts where your code acquired the connection.
var pgxFrames = []string{
	"github.com/jackc/pgx/v5/",
	"github.com/jackc/puddle/",
	"github.com/watertight-go/watertight/contrib/pgx.",
}

// New returns a Tracer, or an error naming the first invalid field.
func New(cfg Config) (*Tracer, error) {
	if cfg.Name == "" {
		return nil, errors.New("watertightpgx: Config.Name is required: it names the pool in metrics, ledgers and leak reports")
	}
	if _, ours := cfg.Next.(*Tracer); ours {
		return nil, errors.New("watertightpgx: Config.Next is a *watertightpgx.Tracer: one Tracer measures a pool, and two would count it twice")
	}
	holds, err := poolwait.NewHolds(poolwait.HoldsConfig{Pool: cfg.Name, LeakAfter: cfg.LeakAfter, OnLeak: cfg.OnLeak, PoolFrames: pgxFrames})
	if err != nil {
		return nil, errors.New("watertightpgx: Config" + strings.TrimPrefix(err.Error(), "poolwait: HoldsConfig"))
	}
	t := &Tracer{name: cfg.Name, holds: holds}
	if n := cfg.Next; n != nil {
		t.next.query = n
		t.next.batch, _ = n.(pgx.BatchTracer)
		t.next.copyFrom, _ = n.(pgx.CopyFromTracer)
		t.next.prepare, _ = n.(pgx.PrepareTracer)
		t.next.connect, _ = n.(pgx.ConnectTracer)
		t.next.acquire, _ = n.(pgxpool.AcquireTracer)
		t.next.release, _ = n.(pgxpool.ReleaseTracer)
	}
	return t, nil
}

// NewPool makes a pgxpool from cfg with a Tracer of tc as its tracer, and
// returns both. A tracer cfg already has becomes the Tracer's Next (set
// one or the other, not both: that is an error). The Tracer reads the
// pool from the start, before its first acquire.
func NewPool(ctx context.Context, cfg *pgxpool.Config, tc Config) (*pgxpool.Pool, *Tracer, error) {
	if cfg == nil {
		return nil, nil, errors.New("watertightpgx: NewPool: cfg is nil")
	}
	if cfg.ConnConfig.Tracer != nil {
		if tc.Next != nil {
			return nil, nil, errors.New("watertightpgx: NewPool: both cfg.ConnConfig.Tracer and Config.Next are set; set one, and the Tracer passes every call to it")
		}
		tc.Next = cfg.ConnConfig.Tracer
	}
	t, err := New(tc)
	if err != nil {
		return nil, nil, err
	}
	cfg = cfg.Copy()
	cfg.ConnConfig.Tracer = t
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	t.pool.Store(p)
	return p, t, nil
}

// Name returns Config.Name.
func (t *Tracer) Name() string { return t.PoolName() }

// ours reports whether pool is the one the Tracer reads, taking it if it
// has none yet.
func (t *Tracer) ours(pool *pgxpool.Pool) bool {
	p := t.pool.Load()
	if p == pool {
		return true
	}
	if p == nil && t.pool.CompareAndSwap(nil, pool) {
		return true
	}
	if t.pool.Load() == pool {
		return true
	}
	if !t.warnedOther.Swap(true) {
		slog.Error("watertightpgx: one Tracer is set on two pools; it reads the first and ignores the acquires of the other: give each pool a Tracer of its own", "name", t.name)
	}
	return false
}

// started is a ctx that carries when a traced call started: one
// allocation, where context.WithValue and a boxed int64 would be two.
type started struct {
	context.Context
	at int64 // monotime
}

type startedKey struct{}

// Value returns the started itself for startedKey, and asks its parent
// for anything else.
func (s *started) Value(key any) any {
	if key == (startedKey{}) {
		return s
	}
	return s.Context.Value(key)
}

// startOf returns when the call traced in ctx started.
func startOf(ctx context.Context) (int64, bool) {
	s, ok := ctx.Value(startedKey{}).(*started)
	if !ok {
		return 0, false
	}
	return s.at, true
}

// minLedgerWait is the shortest acquire wait recorded in a ledger: an
// idle connection taken at once is no wait worth a line.
const minLedgerWait = 100 * time.Microsecond

// TraceAcquireStart is pgxpool's: an acquire begins.
func (t *Tracer) TraceAcquireStart(ctx context.Context, pool *pgxpool.Pool, data pgxpool.TraceAcquireStartData) context.Context {
	if t == nil {
		return ctx
	}
	if t.ours(pool) {
		t.pending.Add(1)
		ctx = &started{Context: ctx, at: monotime.Now()}
	}
	if t.next.acquire != nil {
		ctx = t.next.acquire.TraceAcquireStart(ctx, pool, data)
	}
	return ctx
}

// TraceAcquireEnd is pgxpool's: an acquire ended, with a connection or an
// error.
func (t *Tracer) TraceAcquireEnd(ctx context.Context, pool *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	if t == nil {
		return
	}
	if t.next.acquire != nil {
		t.next.acquire.TraceAcquireEnd(ctx, pool, data)
	}
	start, ok := startOf(ctx)
	if !ok || t.pool.Load() != pool {
		return
	}
	t.pending.Add(-1)
	end := monotime.Now()
	if data.Err != nil {
		outcome := "failed"
		if ctx.Err() != nil || errors.Is(data.Err, context.Canceled) || errors.Is(data.Err, context.DeadlineExceeded) {
			t.canceled.Add(1)
			outcome = record.Outcome(data.Err)
			if outcome == "failed" {
				outcome = record.Outcome(ctx.Err())
			}
		} else {
			t.failed.Add(1)
		}
		record.Span(ctx, t.name, ledger.Wait, start, end, outcome)
		return
	}
	wait := time.Duration(end - start)
	t.wait.Observe(wait)
	if wait >= minLedgerWait {
		record.Span(ctx, t.name, ledger.Wait, start, end, "")
	}
	if data.Conn != nil {
		if s := slotOf(data.Conn); s != nil {
			s.held = t.holds.AcquireAt(end)
		}
	}
}

// TraceRelease is pgxpool's: a connection goes back to the pool.
func (t *Tracer) TraceRelease(pool *pgxpool.Pool, data pgxpool.TraceReleaseData) {
	if t == nil {
		return
	}
	if t.next.release != nil {
		t.next.release.TraceRelease(pool, data)
	}
	if data.Conn == nil {
		return
	}
	if s := slotOf(data.Conn); s != nil {
		held := s.held
		s.held = poolwait.Held{}
		t.holds.Release(held)
	}
}

// TraceQueryStart is pgx's: a query begins.
func (t *Tracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if t == nil {
		return ctx
	}
	ctx = &started{Context: ctx, at: monotime.Now()}
	if t.next.query != nil {
		ctx = t.next.query.TraceQueryStart(ctx, conn, data)
	}
	return ctx
}

// TraceQueryEnd is pgx's: a query ended.
func (t *Tracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if t == nil {
		return
	}
	if t.next.query != nil {
		t.next.query.TraceQueryEnd(ctx, conn, data)
	}
	t.ended(ctx, data.Err)
}

// ended records a query, batch or copy that started in ctx.
func (t *Tracer) ended(ctx context.Context, err error) {
	start, ok := startOf(ctx)
	if !ok {
		return
	}
	end := monotime.Now()
	t.query.Observe(time.Duration(end - start))
	record.Span(ctx, t.name, ledger.Attempt, start, end, record.Outcome(err))
}

// TraceBatchStart is pgx's: a batch begins; it is timed as one query.
func (t *Tracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if t == nil {
		return ctx
	}
	ctx = &started{Context: ctx, at: monotime.Now()}
	if t.next.batch != nil {
		ctx = t.next.batch.TraceBatchStart(ctx, conn, data)
	}
	return ctx
}

// TraceBatchQuery is pgx's: one query of a batch, which is passed on.
func (t *Tracer) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	if t == nil {
		return
	}
	if t.next.batch != nil {
		t.next.batch.TraceBatchQuery(ctx, conn, data)
	}
}

// TraceBatchEnd is pgx's: a batch ended.
func (t *Tracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	if t == nil {
		return
	}
	if t.next.batch != nil {
		t.next.batch.TraceBatchEnd(ctx, conn, data)
	}
	t.ended(ctx, data.Err)
}

// TraceCopyFromStart is pgx's: a copy begins; it is timed as one query.
func (t *Tracer) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if t == nil {
		return ctx
	}
	ctx = &started{Context: ctx, at: monotime.Now()}
	if t.next.copyFrom != nil {
		ctx = t.next.copyFrom.TraceCopyFromStart(ctx, conn, data)
	}
	return ctx
}

// TraceCopyFromEnd is pgx's: a copy ended.
func (t *Tracer) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	if t == nil {
		return
	}
	if t.next.copyFrom != nil {
		t.next.copyFrom.TraceCopyFromEnd(ctx, conn, data)
	}
	t.ended(ctx, data.Err)
}

// TracePrepareStart is pgx's; it is passed to Config.Next.
func (t *Tracer) TracePrepareStart(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	if t == nil {
		return ctx
	}
	if t.next.prepare != nil {
		return t.next.prepare.TracePrepareStart(ctx, conn, data)
	}
	return ctx
}

// TracePrepareEnd is pgx's; it is passed to Config.Next.
func (t *Tracer) TracePrepareEnd(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareEndData) {
	if t == nil {
		return
	}
	if t.next.prepare != nil {
		t.next.prepare.TracePrepareEnd(ctx, conn, data)
	}
}

// TraceConnectStart is pgx's; it is passed to Config.Next.
func (t *Tracer) TraceConnectStart(ctx context.Context, data pgx.TraceConnectStartData) context.Context {
	if t == nil {
		return ctx
	}
	if t.next.connect != nil {
		return t.next.connect.TraceConnectStart(ctx, data)
	}
	return ctx
}

// TraceConnectEnd is pgx's; it is passed to Config.Next.
func (t *Tracer) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	if t == nil {
		return
	}
	if t.next.connect != nil {
		t.next.connect.TraceConnectEnd(ctx, data)
	}
}

// slotKey is the Tracer's key in a connection's pgconn CustomData, where
// it keeps the connection's current checkout: pgxpool tells a release
// only by its *pgx.Conn, and CustomData is the connection's own map,
// touched only by whoever holds it, so no lock or shared map is needed.
const slotKey = "watertight.hold"

// slot is one connection's current checkout.
type slot struct{ held poolwait.Held }

// slotOf returns conn's slot, making it at its first acquire.
func slotOf(conn *pgx.Conn) *slot {
	pc := conn.PgConn()
	if pc == nil {
		return nil
	}
	data := pc.CustomData()
	if data == nil {
		return nil
	}
	s, _ := data[slotKey].(*slot)
	if s == nil {
		s = &slot{}
		data[slotKey] = s
	}
	return s
}
