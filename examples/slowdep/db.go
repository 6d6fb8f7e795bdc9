package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite" // the embedded default, pure Go

	watertightpgx "github.com/watertight-go/watertight/contrib/pgx"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/poolwait"
)

// maxOpenConns is the database pool: a sensible size for a small service.
const maxOpenConns = 10

// dbName names the pool: in ledgers, on the dashboard.
const dbName = "db"

// database is the pool the endpoints share: database/sql's (SQLite, or
// PostgreSQL through pgx's stdlib driver) or pgx's own pgxpool.
type database interface {
	// checkout takes a connection, recording its wait in the request's
	// ledger; release gives it back.
	checkout(ctx context.Context) (dbConn, error)
	// pool is the pool as the dashboard and the metric adapters read it.
	pool() poolwait.Pool
	// waits are every checkout's wait so far.
	waits() poolwait.Stats
	describe() string
	close()
}

// dbConn is one checked-out connection.
type dbConn interface {
	itemName(ctx context.Context, id string) (string, error)
	release()
}

// openDB opens the database — a fresh SQLite file, or dsn through
// database/sql, or dsn through pgxpool if kind is "pgx" — and fills the
// items table.
func openDB(ctx context.Context, kind, dsn string) (database, error) {
	var d database
	var err error
	switch {
	case kind == "pgx" && dsn == "":
		return nil, errors.New("-db pgx needs -dsn postgres://…")
	case kind == "pgx":
		d, err = openPgxpool(ctx, dsn)
	case kind == "" || kind == "sql":
		d, err = openSQL(dsn)
	default:
		return nil, fmt.Errorf("-db %q: want sql (database/sql, the default) or pgx (pgxpool)", kind)
	}
	if err != nil {
		return nil, err
	}
	c, err := d.checkout(ctx)
	if err == nil {
		err = c.(seeder).seed(ctx)
		c.release()
	}
	if err != nil {
		d.close()
		return nil, fmt.Errorf("preparing the database: %w", err)
	}
	return d, nil
}

// seeder fills the items table through a connection.
type seeder interface {
	seed(ctx context.Context) error
}

// seedSQL is the statements that make and fill the items table.
func seedSQL() []string {
	var b strings.Builder
	b.WriteString("INSERT INTO slowdep_items (id, name) VALUES ")
	for i := 1; i <= 1000; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, 'item %d')", i, i)
	}
	b.WriteString(" ON CONFLICT (id) DO NOTHING")
	return []string{"CREATE TABLE IF NOT EXISTS slowdep_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)", b.String()}
}

// sqlDB is a database/sql pool opened through poolwait's Connector, which
// measures each connection's hold and reports leaks. database/sql tells
// no single checkout's wait, so checkout times each one itself, around
// db.Conn, as poolwait's docs advise where a distribution matters.
type sqlDB struct {
	db    *sql.DB
	view  *poolwait.DB
	query string
	dir   string // the SQLite file's directory, removed by close
	what  string
	wait  poolwait.Recorder
}

func openSQL(dsn string) (*sqlDB, error) {
	d := &sqlDB{query: "SELECT name FROM slowdep_items WHERE id = $1", what: "PostgreSQL through database/sql"}
	var next driver.Connector
	if dsn == "" {
		var err error
		if d.dir, err = os.MkdirTemp("", "slowdep"); err != nil {
			return nil, err
		}
		file := filepath.Join(d.dir, "items.db")
		next = dsnConnector{&sqlite.Driver{}, "file:" + file + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)"}
		d.query, d.what = "SELECT name FROM slowdep_items WHERE id = ?", "SQLite (embedded)"
	} else {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, err
		}
		next = stdlib.GetConnector(*cfg)
	}
	db, view, err := poolwait.OpenDB(next, poolwait.ConnectorConfig{Name: dbName, LeakAfter: 30 * time.Second})
	if err != nil {
		d.close()
		return nil, err
	}
	d.db, d.view = db, view
	d.db.SetMaxOpenConns(maxOpenConns)
	d.db.SetMaxIdleConns(maxOpenConns)
	return d, nil
}

// dsnConnector is a driver and a name, as database/sql opens a driver
// that has no connector of its own.
type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

func (d *sqlDB) checkout(ctx context.Context) (dbConn, error) {
	start := time.Now()
	conn, err := d.db.Conn(ctx)
	end := time.Now()
	outcome := ""
	if err != nil {
		outcome = "failed"
	} else {
		d.wait.Observe(end.Sub(start))
	}
	ledger.Span(ctx, dbName, ledger.Wait, start, end, outcome)
	if err != nil {
		return nil, err
	}
	return sqlConn{conn, d.query}, nil
}

func (d *sqlDB) pool() poolwait.Pool   { return d.view }
func (d *sqlDB) waits() poolwait.Stats { return d.wait.Stats() }
func (d *sqlDB) describe() string      { return d.what }

func (d *sqlDB) close() {
	if d.db != nil {
		_ = d.db.Close()
	}
	if d.dir != "" {
		_ = os.RemoveAll(d.dir)
	}
}

type sqlConn struct {
	*sql.Conn
	query string
}

func (c sqlConn) itemName(ctx context.Context, id string) (name string, err error) {
	err = c.QueryRowContext(ctx, c.query, id).Scan(&name)
	return name, err
}

func (c sqlConn) release() { _ = c.Close() }

func (c sqlConn) seed(ctx context.Context) error {
	for _, s := range seedSQL() {
		if _, err := c.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// pgxDB is a pgxpool with watertight's tracer: every acquire's wait, every
// hold, every query, and leaks.
type pgxDB struct {
	p      *pgxpool.Pool
	tracer *watertightpgx.Tracer
}

func openPgxpool(ctx context.Context, dsn string) (*pgxDB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = maxOpenConns
	p, tracer, err := watertightpgx.NewPool(ctx, cfg, watertightpgx.Config{Name: dbName, LeakAfter: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	return &pgxDB{p: p, tracer: tracer}, nil
}

func (d *pgxDB) checkout(ctx context.Context) (dbConn, error) {
	c, err := d.p.Acquire(ctx) // the tracer records the wait, in the ledger too
	if err != nil {
		return nil, err
	}
	return pgxConn{c}, nil
}

func (d *pgxDB) pool() poolwait.Pool   { return d.tracer }
func (d *pgxDB) waits() poolwait.Stats { return d.tracer.PoolStats().Wait }
func (d *pgxDB) describe() string      { return "PostgreSQL through pgxpool" }
func (d *pgxDB) close()                { d.p.Close() }

type pgxConn struct{ *pgxpool.Conn }

func (c pgxConn) itemName(ctx context.Context, id string) (name string, err error) {
	err = c.QueryRow(ctx, "SELECT name FROM slowdep_items WHERE id = $1", id).Scan(&name)
	return name, err
}

func (c pgxConn) release() { c.Release() }

func (c pgxConn) seed(ctx context.Context) error {
	for _, s := range seedSQL() {
		if _, err := c.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
