package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // -dsn postgres://...
	_ "modernc.org/sqlite"             // the embedded default, pure Go
)

// maxOpenConns is the database pool: a sensible size for a small service.
const maxOpenConns = 10

// database is the pool the endpoints share, and the query they run.
type database struct {
	*sql.DB
	query string
	dir   string // the SQLite file's directory, removed by close
}

// openDB opens the database (a fresh SQLite file, or dsn) and fills the
// items table.
func openDB(ctx context.Context, dsn string) (*database, error) {
	d := &database{query: "SELECT name FROM slowdep_items WHERE id = $1"}
	var err error
	if dsn == "" {
		if d.dir, err = os.MkdirTemp("", "slowdep"); err != nil {
			return nil, err
		}
		file := filepath.Join(d.dir, "items.db")
		d.DB, err = sql.Open("sqlite", "file:"+file+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
		d.query = "SELECT name FROM slowdep_items WHERE id = ?"
	} else {
		d.DB, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		d.close()
		return nil, err
	}
	d.SetMaxOpenConns(maxOpenConns)
	d.SetMaxIdleConns(maxOpenConns)
	if err := seed(ctx, d.DB); err != nil {
		d.close()
		return nil, fmt.Errorf("preparing the database: %w", err)
	}
	return d, nil
}

func (d *database) close() {
	if d.DB != nil {
		_ = d.DB.Close()
	}
	if d.dir != "" {
		_ = os.RemoveAll(d.dir)
	}
}

func seed(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS slowdep_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("INSERT INTO slowdep_items (id, name) VALUES ")
	for i := 1; i <= 1000; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, 'item %d')", i, i)
	}
	b.WriteString(" ON CONFLICT (id) DO NOTHING")
	_, err := db.ExecContext(ctx, b.String())
	return err
}
