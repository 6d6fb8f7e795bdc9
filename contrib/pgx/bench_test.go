package watertightpgx_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	watertightpgx "github.com/watertight-go/watertight/contrib/pgx"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/servertest"
)

// benchPools returns two pools of one real PostgreSQL: one traced, one
// not (the floor).
func benchPools(b *testing.B) (traced, bare *pgxpool.Pool) {
	dsn := servertest.Postgres(b)
	pc, err := pgxpool.ParseConfig(dsn)
	require.NoError(b, err)
	pc.MaxConns = 4
	traced, _, err = watertightpgx.NewPool(b.Context(), pc, watertightpgx.Config{Name: "bench"})
	require.NoError(b, err)
	b.Cleanup(traced.Close)
	bare, err = pgxpool.NewWithConfig(b.Context(), pc)
	require.NoError(b, err)
	b.Cleanup(bare.Close)
	return traced, bare
}

// BenchmarkAcquireRelease is an acquire of an idle connection and its
// release, through pgxpool, with the Tracer and without (the floor), on a
// real PostgreSQL (no round trip: the connection is idle).
func BenchmarkAcquireRelease(b *testing.B) {
	traced, bare := benchPools(b)
	for _, c := range []struct {
		name string
		pool *pgxpool.Pool
	}{{"traced", traced}, {"floor=untraced", bare}} {
		acquireRelease := func() {
			conn, err := c.pool.Acquire(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			conn.Release()
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				acquireRelease()
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					acquireRelease()
				}
			})
		})
	}
}

// BenchmarkQuery is a SELECT 1 on a connection already acquired, with the
// Tracer and without (the floor): a round trip to a real PostgreSQL on
// loopback, whose noise is far larger than the Tracer's cost, which
// BenchmarkTracerCalls measures alone.
func BenchmarkQuery(b *testing.B) {
	traced, bare := benchPools(b)
	for _, c := range []struct {
		name string
		pool *pgxpool.Pool
	}{{"traced", traced}, {"floor=untraced", bare}} {
		b.Run(c.name, func(b *testing.B) {
			conn, err := c.pool.Acquire(b.Context())
			require.NoError(b, err)
			defer conn.Release()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := conn.Exec(context.Background(), "SELECT 1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTracerCalls is what the Tracer adds, alone: the calls pgxpool
// makes for an acquire and its release, and those pgx makes for a query,
// beside a floor that makes no call at all.
func BenchmarkTracerCalls(b *testing.B) {
	tracer, err := watertightpgx.New(watertightpgx.Config{Name: "bench"})
	require.NoError(b, err)
	pool, err := pgxpool.New(b.Context(), servertest.Postgres(b))
	require.NoError(b, err)
	defer pool.Close()
	// Real connections (the Tracer keeps a checkout in each one's
	// CustomData), traced by hand.
	conns := make([]*pgxpool.Conn, 4)
	for i := range conns {
		conns[i], err = pool.Acquire(b.Context())
		require.NoError(b, err)
		defer conns[i].Release()
	}
	var next atomic.Int32
	ctx := context.Background()
	acquireRelease := func(conn *pgx.Conn) {
		actx := tracer.TraceAcquireStart(ctx, pool, pgxpool.TraceAcquireStartData{})
		tracer.TraceAcquireEnd(actx, pool, pgxpool.TraceAcquireEndData{Conn: conn})
		tracer.TraceRelease(pool, pgxpool.TraceReleaseData{Conn: conn})
	}
	query := func(conn *pgx.Conn) {
		qctx := tracer.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: "SELECT 1"})
		tracer.TraceQueryEnd(qctx, conn, pgx.TraceQueryEndData{})
	}
	for _, c := range []struct {
		name string
		f    func(*pgx.Conn)
	}{{"acquire+release", acquireRelease}, {"query", query}, {"floor=no-call", func(*pgx.Conn) {}}} {
		b.Run(c.name, func(b *testing.B) {
			conn := conns[0].Conn()
			b.ReportAllocs()
			for b.Loop() {
				c.f(conn)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				conn := conns[next.Add(1)%int32(len(conns))].Conn() // one per goroutine, as in a pool
				for pb.Next() {
					c.f(conn)
				}
			})
		})
	}
}

// BenchmarkTracerFloor is what any tracer that times an acquire, its
// wait and its hold must pay, whatever it does: three monotonic clock
// reads and one small allocation (the ctx that carries the start, since
// pgxpool gives a tracer no other place to keep it).
func BenchmarkTracerFloor(b *testing.B) {
	type started struct {
		context.Context
		at int64
	}
	var sink *started
	var sum int64
	b.ReportAllocs()
	for b.Loop() {
		s := &started{Context: context.Background(), at: monotime.Now()}
		sink = s
		sum += monotime.Now() - s.at
		sum += monotime.Now()
	}
	_, _ = sink, sum
}
