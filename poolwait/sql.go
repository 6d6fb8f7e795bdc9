package poolwait

import (
	"database/sql"
	"errors"
	"sync"
	"time"
)

// DB samples the connection pool of a *sql.DB: database/sql keeps
// cumulative counters of checkouts that had to wait, and DB turns them into
// what an incident needs — how long checkouts waited lately. Make it with
// NewDB; a zero DB samples nothing and its Stats are zero.
type DB struct {
	db *sql.DB

	mu     sync.Mutex
	prev   sql.DBStats
	prevAt time.Time
}

// NewDB returns a DB that samples db. The first Stats reports the deltas
// since NewDB.
func NewDB(db *sql.DB) (*DB, error) {
	if db == nil {
		return nil, errors.New("poolwait: NewDB: db is nil")
	}
	return &DB{db: db, prev: db.Stats(), prevAt: time.Now()}, nil
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
