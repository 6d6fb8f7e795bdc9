package poolwait

import "time"

// Pool is one way to read a connection pool, whatever pool it is: a
// database/sql pool (*DB), a pgxpool (contrib/pgx), a go-redis client's
// (contrib/redis). The metric adapters and the dashboard read pools only
// through it, so that a contrib module adds a pool without them, or the
// root module, knowing it.
type Pool interface {
	// PoolName identifies the pool in metrics, on the dashboard and in
	// errors; two pools must not share one.
	PoolName() string
	// PoolStats returns a snapshot. It is called on every scrape and
	// every read of the dashboard: it must be cheap.
	PoolStats() PoolStats
}

// PoolStats is a snapshot of a connection pool: its gauges, its
// cumulative counts, and its waits and holds where they are measured.
// What a pool cannot tell is zero, and says so through WaitMeasured and
// HoldMeasured.
type PoolStats struct {
	// Kind is what the pool is: "database/sql", "pgx", "redis".
	Kind string

	// The gauges.
	InUse   int // connections checked out now
	Idle    int // connections open and free now
	Max     int // the pool's limit; 0: none
	Pending int // callers waiting for a connection now; -1 when the pool does not tell

	// WaitMeasured says that Wait holds every checkout's wait, zero
	// waits included (pgx's acquire tracer tells each one): its quantiles
	// are honest. When false (database/sql, go-redis tell only totals),
	// Wait is empty and Waits and WaitTotal are all there is.
	WaitMeasured bool
	Wait         Stats
	// Waits counts the checkouts that had to wait, and WaitTotal their
	// waits added up, cumulative: a mean, not a distribution.
	Waits     uint64
	WaitTotal time.Duration

	// HoldMeasured says that Hold holds how long each connection was held,
	// from its checkout to its return.
	HoldMeasured bool
	Hold         Stats

	Acquired uint64 // checkouts, cumulative; 0 when the pool does not count them
	Timeouts uint64 // checkouts that gave up waiting (the pool's own timeout)
	Canceled uint64 // checkouts whose ctx ended while they waited
	Failed   uint64 // checkouts that failed otherwise (a connection could not be made)

	// OpenLeaks is how many connections are held now past the leak
	// threshold (see Holds), and Leaks how many ever were.
	OpenLeaks int
	Leaks     uint64
}
