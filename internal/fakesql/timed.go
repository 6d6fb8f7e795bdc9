package fakesql

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"strings"
	"time"
)

// Timed opens connections that run statements as real drivers do, with
// ctx methods, driver.SessionResetter and driver.Validator: a statement
// "sleep 100ms" takes that long (or until its ctx ends), "fail" fails,
// and anything else succeeds at once. A query returns no rows.
type Timed struct{}

// Connect returns a new timed connection.
func (Timed) Connect(context.Context) (driver.Conn, error) { return &timedConn{}, nil }

// Driver returns a driver that opens the same connections.
func (Timed) Driver() driver.Driver { return timedDriver{} }

type timedDriver struct{}

func (timedDriver) Open(string) (driver.Conn, error) { return &timedConn{}, nil }

type timedConn struct{ runConn }

// runConn runs statements; its ctx methods are every fake connection's
// but Connector's.
type runConn struct{ conn }

// ErrFail is what a "fail" statement returns.
var ErrFail = errors.New("fakesql: the statement failed, as asked")

// run runs one statement.
func run(ctx context.Context, query string) error {
	if query == "fail" {
		return ErrFail
	}
	if d, ok := strings.CutPrefix(query, "sleep "); ok {
		dur, err := time.ParseDuration(d)
		if err != nil {
			return err
		}
		t := time.NewTimer(dur)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (runConn) ExecContext(ctx context.Context, query string, _ []driver.NamedValue) (driver.Result, error) {
	if err := run(ctx, query); err != nil {
		return nil, err
	}
	return driver.RowsAffected(0), nil
}

func (runConn) QueryContext(ctx context.Context, query string, _ []driver.NamedValue) (driver.Rows, error) {
	if err := run(ctx, query); err != nil {
		return nil, err
	}
	return noRows{}, nil
}

func (*timedConn) ResetSession(context.Context) error { return nil }
func (*timedConn) IsValid() bool                      { return true }

type noRows struct{}

func (noRows) Columns() []string         { return nil }
func (noRows) Close() error              { return nil }
func (noRows) Next([]driver.Value) error { return io.EOF }

// Resetting opens connections that run statements as Timed's do, and
// have driver.SessionResetter but no driver.Validator, as pgx's stdlib
// driver. Their transactions' Rollback fails if FailRollback is set.
type Resetting struct{ FailRollback bool }

// Connect returns a new resetting connection.
func (r Resetting) Connect(context.Context) (driver.Conn, error) {
	return &resettingConn{failRollback: r.FailRollback}, nil
}

// Driver returns a driver that opens Timed's connections.
func (Resetting) Driver() driver.Driver { return timedDriver{} }

type resettingConn struct {
	runConn
	failRollback bool
}

func (*resettingConn) ResetSession(context.Context) error { return nil }

func (c *resettingConn) BeginTx(context.Context, driver.TxOptions) (driver.Tx, error) {
	return fakeTx{failRollback: c.failRollback}, nil
}

type fakeTx struct{ failRollback bool }

// ErrRollback is what a Rollback of Resetting{FailRollback: true} returns.
var ErrRollback = errors.New("fakesql: the rollback failed, as asked")

func (fakeTx) Commit() error { return nil }

func (t fakeTx) Rollback() error {
	if t.failRollback {
		return ErrRollback
	}
	return nil
}
