// Package watertightpgx shows what a pgxpool does to each request, with
// watertight's instruments: how long every acquire waited for a
// connection (zero waits included, so the quantiles are honest), how
// long every connection was held, which acquires failed or were
// cancelled, every query's time, and the connections held past a
// threshold — leaked, with the stack that took them.
//
// A Tracer is a pgx tracer (pgxpool's AcquireTracer and ReleaseTracer,
// pgx's QueryTracer, BatchTracer and CopyFromTracer) that passes every
// call on to a tracer you already have (Config.Next). Make the pool with
// NewPool, or set the Tracer as ConnConfig.Tracer yourself:
//
//	cfg, err := pgxpool.ParseConfig(dsn)
//	...
//	pool, orders, err := watertightpgx.NewPool(ctx, cfg, watertightpgx.Config{Name: "orders", LeakAfter: 30 * time.Second})
//	...
//	collector.Add(orders)   // contrib/prometheus, contrib/otel: db.client.connection.* series
//	dash.Add(orders)        // the dashboard: a card for the pool
//
// A Tracer is a poolwait.Pool: the metric adapters and the dashboard read
// it as any other pool, through PoolStats.
//
// # What is exact, what is sampled
//
// Exact: every acquire's wait, from pgxpool's Acquire to its return (a
// poolwait.Recorder, within its 6.1% bucket error for quantiles); every
// hold, from the end of an acquire to the Release of that connection;
// every query, batch (as one) and copy, from its start to its end;
// the counts of acquires that got a connection, failed, or were cancelled
// (their ctx ended first). The gauges (in use, idle, max) are
// pgxpool.Stat's at the moment of the read; Pending, the acquires waiting
// now, is the Tracer's own count.
//
// In a request's ledger (package ledger), under Config.Name: each acquire
// that waited 100 µs or more, and each that failed or was cancelled (a
// Wait entry), and each query, batch and copy (an Attempt entry, with its
// outcome).
//
// # What it costs
//
// An acquire with its release, or a query, costs one allocation (a ctx
// that carries its start to its end) and a few clock reads and atomic
// adds: see BenchmarkTracer, beside the same calls without it. Leak
// detection off (the default): no stack is captured and no timer started.
// On: one stack capture and one timer per acquire, stopped at release.
//
// # Limits
//
// One Tracer per pool: a second pool's acquires would mix into the
// first's numbers, so a Tracer refuses to read a second pool (it logs an
// error once, and reads the first). A connection that is hijacked
// (pgxpool.Conn.Hijack) is never released: it is reported as a leak if
// LeakAfter is set, and its hold is never recorded.
//
// It is a module of its own (github.com/watertight-go/watertight/contrib/pgx),
// so that a service that does not use pgx downloads none of it.
package watertightpgx
