// Package poolwait measures waits: for a bulkhead slot, a pool worker, a
// database connection.
//
// A Recorder is a lock-free histogram that the other watertight packages
// feed with every wait they impose, zero waits included, so that quantiles
// are honest: a p99 over only the callers that waited would hide how rare
// the waits are. Observe costs a few atomic adds and never allocates; Stats
// returns a value snapshot, and Stats.Sub gives the waits between two
// snapshots, for rates and per-interval quantiles between two scrapes.
//
// # Precision
//
// Buckets are log-linear: every power-of-two octave from 1.024µs to 68.7s is
// split into 8 equal buckets (NumBuckets in all). Quantile reports the
// geometric middle of the bucket that holds the rank, which is within
// QuantileError (6.1%) of the true value. Waits under 1.024µs count as no
// wait (0); waits over 68.7s are reported as Max. Count, Total and Max are
// exact.
//
// A Recorder takes about 1.7 KB. Its buckets are exported (Stats.Buckets,
// BucketLowerBound, BucketUpperBound) so that metric adapters can build real
// histograms from them.
//
// # The pools a service already has
//
// The pools that freeze a service are often not watertight's: they are
// the database/sql connection pool, pgx's pgxpool, go-redis's pool and an
// http.Transport's connections to a host. Every one of them is read
// through Pool, a name and a PoolStats snapshot (in use, idle, max,
// pending, the checkout wait and hold time where they are measured,
// timeouts, cancellations, leaks), which the metric adapters and the
// dashboard read, so that a pool kind added by a contrib module needs
// nothing of them: *DB here, contrib/pgx's Tracer and contrib/redis's
// Pool are Pools.
//
// For database/sql, OpenDB (or Connector) wraps the driver's connector:
// it measures each connection's hold, from checkout to return, each
// query, records both in the request's ledger, and reports leaks — a
// connection held past a threshold, with the stack that took it,
// HikariCP's leakDetectionThreshold — as Holds does for any pool. Its
// checkout wait is what database/sql counts, a mean: database/sql runs no
// driver code while a caller waits, so no wrapper sees a wait (see DB).
// pgx's pool tells every acquire: contrib/pgx measures each wait.
//
// DB.Stats samples a *sql.DB's pool for a periodic log line (in use
// against the limit, and the checkouts that waited since the last call,
// with their mean wait). ConnWaits measures how long each outbound
// request waited for a connection (httptrace GetConn to GotConn), per
// host, and whether it got a reused one.
//
// # Reading the numbers during an incident
//
// Latency climbs, CPU is idle, nothing is in the logs: something is
// waiting. A checkout wait that rises while CPU stays idle means a pool is
// exhausted — a Pool's wait p99 (or, for database/sql and go-redis,
// its mean) growing with InUse at Max, or a host's
// connection wait growing with MaxConnsPerHost reached. Then find who holds
// it: the bulkhead or pool whose wait (bulkhead Stats.Wait, pool
// Stats.Wait) rises at the same time guards the dependency that is slow,
// and its Stats.Run or call durations show how slow. A database checkout
// wait that rises together with an HTTP dependency's latency is the
// classic mistake: a handler holding a database connection while it calls
// that dependency.
package poolwait
