package poolwait

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/ledger"
)

// ConnectorConfig configures Connector.
type ConnectorConfig struct {
	// Name names the pool in ledger entries, leak reports, metrics and on
	// the dashboard. Required: two pools must not share one.
	Name string

	// LeakAfter, if set, reports a connection held longer than this, with
	// the stack that took it, and again when it comes back (see
	// HoldsConfig). Zero: no leak detection, no stack captured, no timer.
	// Negative, or under 1 ms (a bare number is nanoseconds), is an error.
	LeakAfter time.Duration

	// OnLeak receives the leak reports. Nil: a slog warning.
	OnLeak func(Leak)
}

// sqlFrames are database/sql's own frames, left out of a leak's stack.
var sqlFrames = []string{"database/sql."}

// Connector wraps a database/sql driver.Connector so that its pool shows
// what it does to each connection and each query:
//
//   - how long each connection is held, from its checkout to its return
//     (a Recorder: real quantiles), and the connections held too long
//     (leaks, with the stack that took them, when LeakAfter is set);
//   - how long each query and exec takes until the driver returns (its
//     first results, for a query: reading the rows is the caller's time),
//     in a Recorder, and in the ledger of the ctx it ran with (an
//     Attempt entry named Name).
//
// The checkout wait is the one thing it cannot measure: database/sql runs
// no driver code while a caller waits for a connection, so a connector
// never sees a wait begin. The pool's wait stays what sql.DBStats counts:
// the checkouts that waited and their total, a mean (see DB).
//
// What is approximate: a checkout starts at the driver's first call on
// the connection — ResetSession, which database/sql makes as it hands
// out a connection that was used before, or the first query, exec,
// prepare, begin or ping of a new one. It ends at IsValid, which
// database/sql (Go 1.25 and 1.26: putConn) calls as it takes the
// connection back, or at Close. A checkout that makes no driver call at
// all (db.Conn then Close) is not seen.
//
// The wrapper keeps what database/sql asks of the driver's connection,
// with one addition, and says so here because database/sql treats a
// connection by the interfaces it has. The end of a checkout is seen only
// through driver.Validator, so the wrapper always has IsValid: the
// driver's, or, for a driver without one, "valid" as database/sql
// assumes, except after a Rollback that failed. For a driver that has
// driver.SessionResetter but no Validator (pgx's stdlib is one), that
// makes database/sql keep a connection whose transaction a cancelled ctx
// rolled back, as it does for drivers that have both, instead of closing
// it: the driver's ResetSession vets it before its next use (pgx's
// refuses one that is closed or still in a transaction), and a Rollback
// that failed discards it. The wrapper has ResetSession only if the
// driver does. A statement's deprecated driver.ColumnConverter is not
// kept: its arguments get database/sql's default conversion.
func Connector(next driver.Connector, cfg ConnectorConfig) (*SQLConnector, error) {
	switch {
	case typednil.Is(next):
		return nil, errors.New("poolwait: Connector: next is " + typednil.Describe(next))
	case cfg.Name == "":
		return nil, errors.New("poolwait: ConnectorConfig.Name is required: it names the pool in metrics and leak reports")
	}
	holds, err := NewHolds(HoldsConfig{Pool: cfg.Name, LeakAfter: cfg.LeakAfter, OnLeak: cfg.OnLeak, PoolFrames: sqlFrames})
	if err != nil {
		return nil, errors.New("poolwait: ConnectorConfig" + strings.TrimPrefix(err.Error(), "poolwait: HoldsConfig"))
	}
	return &SQLConnector{next: next, name: cfg.Name, holds: holds}, nil
}

// SQLConnector is the driver.Connector Connector returns. Open a *sql.DB
// with sql.OpenDB(c), or with OpenDB, which also returns its pool's view.
type SQLConnector struct {
	next  driver.Connector
	name  string
	holds *Holds
	query Recorder
}

// OpenDB opens a *sql.DB through Connector(next, cfg), and returns it
// with a *DB that reads its pool, named cfg.Name: the waits sql.DBStats
// counts, and the hold times, leaks and query times the connector
// measures. Close the *sql.DB when done; the *DB needs no closing.
func OpenDB(next driver.Connector, cfg ConnectorConfig) (*sql.DB, *DB, error) {
	c, err := Connector(next, cfg)
	if err != nil {
		return nil, nil, err
	}
	db := sql.OpenDB(c)
	view, err := NewDB(db, WithName(cfg.Name))
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	view.connector = c
	return db, view, nil
}

// Connect makes a connection with the wrapped connector.
func (c *SQLConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.next.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cn := &conn{Conn: dc, c: c}
	cn.validator, _ = dc.(driver.Validator)
	if _, resets := dc.(driver.SessionResetter); resets {
		return resettingConn{cn}, nil
	}
	return cn, nil
}

// Driver returns the wrapped connector's driver.
func (c *SQLConnector) Driver() driver.Driver { return c.next.Driver() }

// Close closes the wrapped connector if it is an io.Closer, as
// sql.DB.Close does for a connector.
func (c *SQLConnector) Close() error {
	if cl, ok := c.next.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// Queries returns the time each query and exec took until the driver
// returned.
func (c *SQLConnector) Queries() Stats { return c.query.Stats() }

// Holds returns the hold times and leaks of the connections.
func (c *SQLConnector) Holds() *Holds { return c.holds }

// conn is a connection of the pool, and its current checkout.
type conn struct {
	driver.Conn
	c *SQLConnector

	validator driver.Validator // the driver's; nil if it has none

	mu             sync.Mutex // database/sql serialises most calls, not Close
	holder         Held       // the current checkout; zero: none
	rollbackFailed bool       // without the driver's IsValid: discard it
}

// resettingConn is a conn whose driver has driver.SessionResetter: see
// Connector for why it is a type of its own.
type resettingConn struct{ *conn }

// checkedOut starts a checkout, if one has not started: the first driver
// call since the connection came back.
func (cn *conn) checkedOut() {
	cn.mu.Lock()
	if cn.holder == (Held{}) {
		cn.holder = cn.c.holds.Acquire()
	}
	cn.mu.Unlock()
}

// returned ends a checkout, if one has started.
func (cn *conn) returned() {
	cn.mu.Lock()
	h := cn.holder
	cn.holder = Held{}
	cn.mu.Unlock()
	cn.c.holds.Release(h)
}

// ResetSession is the start of a checkout of a connection used before.
func (c resettingConn) ResetSession(ctx context.Context) error {
	c.checkedOut()
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

// IsValid is database/sql taking the connection back: the end of a
// checkout. It is the driver's answer, or, if it has none, true unless a
// Rollback failed on it.
func (cn *conn) IsValid() bool {
	cn.returned()
	if cn.validator != nil {
		return cn.validator.IsValid()
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return !cn.rollbackFailed
}

// Close closes the connection; a checkout it was in ends.
func (cn *conn) Close() error {
	cn.returned()
	return cn.Conn.Close()
}

// timed runs a query or exec, and records its time.
func (cn *conn) timed(ctx context.Context, run func() error) error {
	cn.checkedOut()
	start := monotime.Now()
	err := run()
	if errors.Is(err, driver.ErrSkip) {
		return err // database/sql takes another way, which is timed
	}
	end := monotime.Now()
	cn.c.query.Observe(time.Duration(end - start))
	record.Span(ctx, cn.c.name, ledger.Attempt, start, end, record.Outcome(err))
	return err
}

// QueryContext runs a query the driver can run without preparing it.
func (cn *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (rows driver.Rows, err error) {
	switch q := cn.Conn.(type) {
	case driver.QueryerContext:
		err = cn.timed(ctx, func() error { rows, err = q.QueryContext(ctx, query, args); return err })
	//lint:ignore SA1019 a driver's only way, as database/sql's own fallback
	case driver.Queryer:
		err = cn.timed(ctx, func() error {
			values, err := plainValues(ctx, args)
			if err == nil {
				rows, err = q.Query(query, values)
			}
			return err
		})
	default:
		cn.checkedOut()
		return nil, driver.ErrSkip // database/sql prepares it instead
	}
	return rows, err
}

// ExecContext runs a statement the driver can run without preparing it.
func (cn *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (res driver.Result, err error) {
	switch e := cn.Conn.(type) {
	case driver.ExecerContext:
		err = cn.timed(ctx, func() error { res, err = e.ExecContext(ctx, query, args); return err })
	//lint:ignore SA1019 a driver's only way, as database/sql's own fallback
	case driver.Execer:
		err = cn.timed(ctx, func() error {
			values, err := plainValues(ctx, args)
			if err == nil {
				res, err = e.Exec(query, values)
			}
			return err
		})
	default:
		cn.checkedOut()
		return nil, driver.ErrSkip
	}
	return res, err
}

// PrepareContext prepares a statement whose runs are timed.
func (cn *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	cn.checkedOut()
	var st driver.Stmt
	var err error
	if p, ok := cn.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = cn.Conn.Prepare(query)
		if err == nil && ctx.Err() != nil {
			_ = st.Close()
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	return &stmt{Stmt: st, cn: cn}, nil
}

// BeginTx begins a transaction, as database/sql would on the driver.
func (cn *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	cn.checkedOut()
	if b, ok := cn.Conn.(driver.ConnBeginTx); ok {
		return cn.tx(b.BeginTx(ctx, opts))
	}
	if opts.Isolation != 0 {
		return nil, errors.New("sql: driver does not support non-default isolation level")
	}
	if opts.ReadOnly {
		return nil, errors.New("sql: driver does not support read-only transactions")
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	//lint:ignore SA1019 the driver's only way, as database/sql's own fallback
	return cn.tx(cn.Conn.Begin())
}

// tx wraps a transaction the driver began, to see a Rollback fail.
func (cn *conn) tx(t driver.Tx, err error) (driver.Tx, error) {
	if err != nil || cn.validator != nil {
		return t, err // the driver's IsValid knows its connection
	}
	return &tx{Tx: t, cn: cn}, nil
}

// tx is a transaction on a conn whose driver has no IsValid.
type tx struct {
	driver.Tx
	cn *conn
}

// Rollback rolls back; if that fails, the connection is not put back.
func (t *tx) Rollback() error {
	err := t.Tx.Rollback()
	if err != nil {
		t.cn.mu.Lock()
		t.cn.rollbackFailed = true
		t.cn.mu.Unlock()
	}
	return err
}

// Ping pings the connection if the driver can.
func (cn *conn) Ping(ctx context.Context) error {
	cn.checkedOut()
	if p, ok := cn.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// CheckNamedValue is the driver's, or database/sql's default conversion.
func (cn *conn) CheckNamedValue(v *driver.NamedValue) error {
	if c, ok := cn.Conn.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

// stmt is a prepared statement of a conn, whose runs are timed.
type stmt struct {
	driver.Stmt
	cn *conn
}

// ExecContext runs the statement.
func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (res driver.Result, err error) {
	err = s.cn.timed(ctx, func() error {
		if e, ok := s.Stmt.(driver.StmtExecContext); ok {
			res, err = e.ExecContext(ctx, args)
			return err
		}
		values, err := plainValues(ctx, args)
		if err == nil {
			//lint:ignore SA1019 the driver's only way, as database/sql's own fallback
			res, err = s.Stmt.Exec(values)
		}
		return err
	})
	return res, err
}

// QueryContext runs the statement.
func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (rows driver.Rows, err error) {
	err = s.cn.timed(ctx, func() error {
		if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
			rows, err = q.QueryContext(ctx, args)
			return err
		}
		values, err := plainValues(ctx, args)
		if err == nil {
			//lint:ignore SA1019 the driver's only way, as database/sql's own fallback
			rows, err = s.Stmt.Query(values)
		}
		return err
	})
	return rows, err
}

// CheckNamedValue is the statement's, else its connection's.
func (s *stmt) CheckNamedValue(v *driver.NamedValue) error {
	if c, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(v)
	}
	return s.cn.CheckNamedValue(v)
}

// plainValues is database/sql's own conversion for a driver without
// context methods: positional values only, and a ctx already done ends it.
func plainValues(ctx context.Context, named []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(named))
	for i, n := range named {
		if n.Name != "" {
			return nil, errors.New("sql: driver does not support the use of Named Parameters")
		}
		out[i] = n.Value
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
