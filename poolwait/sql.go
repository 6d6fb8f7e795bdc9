package poolwait

import (
	"database/sql"
	"errors"
	"sync"
	"time"
)

// DB reads the connection pool of a *sql.DB. Make it with NewDB, or with
// OpenDB, which also measures each connection's hold, each query and the
// leaks (see Connector); a zero DB reads nothing and its Stats are zero.
// A DB is a Pool: the metric adapters and the dashboard read it as any
// other, through PoolStats. Stats samples it for a periodic log line:
// database/sql keeps cumulative counters of checkouts that had to wait,
// and Stats turns them into how long checkouts waited lately.
//
// database/sql runs no driver code while a caller waits for a connection,
// so neither DB nor a Connector can time each checkout's wait: what there
// is, is database/sql's own count of the checkouts that waited and their
// total wait, so a mean — no p95, no p99. Time checkouts yourself around
// db.Conn where a distribution matters; pgx's pool (contrib/pgx) tells
// every acquire.
type DB struct {
	db        *sql.DB
	name      string
	connector *SQLConnector // OpenDB's: hold times, leaks and queries; nil for NewDB

	mu     sync.Mutex
	prev   sql.DBStats
	prevAt time.Time
}

// DBOption configures NewDB.
type DBOption func(*DB)

// WithName names the pool (PoolName): in metrics, on the dashboard. It
// is what the metric adapters' AddDB(name, db) did.
func WithName(name string) DBOption { return func(d *DB) { d.name = name } }

// NewDB returns a DB that samples db. The first Stats reports the deltas
// since NewDB.
func NewDB(db *sql.DB, opts ...DBOption) (*DB, error) {
	if db == nil {
		return nil, errors.New("poolwait: NewDB: db is nil")
	}
	d := &DB{db: db, prev: db.Stats(), prevAt: time.Now()}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("poolwait: NewDB: an option is nil")
		}
		o(d)
	}
	return d, nil
}

// PoolName returns the pool's name: WithName's, or OpenDB's
// ConnectorConfig.Name.
func (d *DB) PoolName() string {
	if d == nil {
		return ""
	}
	return d.name
}

// Connector returns the SQLConnector of a DB that OpenDB made, and nil
// for one of NewDB.
func (d *DB) Connector() *SQLConnector {
	if d == nil {
		return nil
	}
	return d.connector
}

// PoolStats reads the pool: database/sql's gauges and its count of
// checkouts that waited (a mean, not measured one by one: see DB), and,
// for a DB of OpenDB, the hold time of every connection and its leaks.
// Unlike Stats, it starts no interval: call both as you need.
func (d *DB) PoolStats() PoolStats {
	if d == nil || d.db == nil {
		return PoolStats{Kind: "database/sql", Pending: -1}
	}
	cur := d.db.Stats()
	ps := PoolStats{
		Kind: "database/sql", InUse: cur.InUse, Idle: cur.Idle, Max: cur.MaxOpenConnections, Pending: -1,
		Waits: uint64(cur.WaitCount), WaitTotal: cur.WaitDuration,
	}
	if d.connector != nil {
		ps.Hold, ps.OpenLeaks, ps.Leaks = d.connector.holds.Stats()
		ps.HoldMeasured = true
		ps.Acquired = ps.Hold.Count
	}
	return ps
}

// DBStats is one sample of a database/sql pool.
type DBStats struct {
	MaxOpen int // the pool's limit (SetMaxOpenConns); 0: unlimited
	Open    int // connections open, in use or idle
	InUse   int // connections checked out now
	Idle    int // connections open and free now

	// The pool's cumulative counts: checkouts that waited for a
	// connection, and their total wait.
	WaitCount    int64
	WaitDuration time.Duration

	// Since the previous Stats call (or NewDB): how long ago that was,
	// how many checkouts started to wait, how long checkouts waited in
	// all, and NewWaitTotal/NewWaits (0 if none waited). database/sql
	// counts a wait when it starts and adds its duration when it ends, so
	// over an interval much longer than the waits MeanWait is their mean;
	// a wait that spans two intervals is counted in the first and timed in
	// the second.
	Interval       time.Duration
	NewWaits       int64
	NewWaitTotal   time.Duration
	MeanWait       time.Duration
	MaxIdleClosed  int64 // connections closed since, for SetMaxIdleConns
	LifetimeClosed int64 // connections closed since, for SetConnMaxLifetime or SetConnMaxIdleTime
}

// Utilization is InUse over MaxOpen, or -1 if the pool is unlimited: 1
// means every connection is checked out and the next caller waits.
func (s DBStats) Utilization() float64 {
	if s.MaxOpen <= 0 {
		return -1
	}
	return float64(s.InUse) / float64(s.MaxOpen)
}

// Stats samples the pool and returns it with the deltas since the
// previous call. Calls are serialised; call it from one place (a metrics
// scrape, a periodic log line), since each call starts a new interval.
func (d *DB) Stats() DBStats {
	if d == nil {
		return DBStats{}
	}
	if d.db == nil {
		return DBStats{} // a zero DB
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, now := d.db.Stats(), time.Now()
	s := DBStats{
		MaxOpen:        cur.MaxOpenConnections,
		Open:           cur.OpenConnections,
		InUse:          cur.InUse,
		Idle:           cur.Idle,
		WaitCount:      cur.WaitCount,
		WaitDuration:   cur.WaitDuration,
		Interval:       now.Sub(d.prevAt),
		NewWaits:       cur.WaitCount - d.prev.WaitCount,
		NewWaitTotal:   cur.WaitDuration - d.prev.WaitDuration,
		MaxIdleClosed:  cur.MaxIdleClosed - d.prev.MaxIdleClosed,
		LifetimeClosed: cur.MaxLifetimeClosed - d.prev.MaxLifetimeClosed + cur.MaxIdleTimeClosed - d.prev.MaxIdleTimeClosed,
	}
	if s.NewWaits > 0 {
		s.MeanWait = s.NewWaitTotal / time.Duration(s.NewWaits)
	}
	d.prev, d.prevAt = cur, now
	return s
}
