// Package fakesql is the least database/sql needs to open connections, for
// tests of code that watches database/sql's own pool (the pool is the
// standard library's; only the connections are fake).
package fakesql

import (
	"context"
	"database/sql/driver"
	"errors"
)

// Connector opens connections that support nothing but Close; pass it to
// sql.OpenDB.
type Connector struct{}

// Connect returns a new fake connection.
func (Connector) Connect(context.Context) (driver.Conn, error) { return conn{}, nil }

// Driver returns a driver that opens the same connections.
func (Connector) Driver() driver.Driver { return fakeDriver{} }

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return conn{}, nil }

type conn struct{}

var errUnsupported = errors.New("fakesql: not supported")

func (conn) Prepare(string) (driver.Stmt, error) { return nil, errUnsupported }
func (conn) Close() error                        { return nil }
func (conn) Begin() (driver.Tx, error)           { return nil, errUnsupported }
