// Command slowdep reproduces the incident watertight exists for, and the
// fix, in one process on loopback: an API whose healthy endpoints hang
// because one endpoint holds database connections while it calls an
// external API that became slow.
//
// It runs the same load twice, unprotected and protected, and prints what
// happened to each kind of endpoint:
//
//	go -C examples run ./slowdep
//
// Flags change the load (-rate, -duration), the external API's slowness
// (-slowness), the database (-dsn postgres://... instead of the embedded
// SQLite, and -db pgx to reach it through pgxpool instead of
// database/sql), and the output (-json, -plot chart.svg). The protected run
// serves watertight's dashboard next to the API, and prints its URL (-addr
// fixes the address).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	cfg := defaultConfig()
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long each run sends load")
	flag.IntVar(&cfg.Rate, "rate", cfg.Rate, "requests per second, both endpoints together")
	flag.DurationVar(&cfg.Slowness, "slowness", cfg.Slowness, "how long the external API takes once it is slow")
	flag.StringVar(&cfg.DSN, "dsn", "", "postgres://... to use PostgreSQL instead of the embedded SQLite")
	flag.StringVar(&cfg.DB, "db", "sql", "how the API reaches the database: sql (database/sql) or pgx (pgxpool, with -dsn)")
	flag.StringVar(&cfg.Addr, "addr", "", "address for the API under test and its dashboard (default: a free loopback port)")
	jsonOut := flag.Bool("json", false, "print the results as JSON instead of a table")
	plot := flag.String("plot", "", "write an SVG chart of healthy-endpoint latency over time to this file")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if !*jsonOut {
		cfg.Progress = os.Stderr
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "slowdep:", err)
		os.Exit(1)
	}
	if *jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(os.Stderr, "slowdep:", err)
			os.Exit(1)
		}
	} else {
		res.WriteTable(os.Stdout)
	}
	if *plot != "" {
		if err := os.WriteFile(*plot, res.SVG(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "slowdep:", err)
			os.Exit(1)
		}
		if !*jsonOut {
			fmt.Printf("\nchart: %s\n", *plot)
		}
	}
}

// Config is one scenario.
type Config struct {
	Duration      time.Duration // load per run
	Rate          int           // requests per second
	HealthyShare  float64       // of the requests, to the healthy endpoint
	Slowness      time.Duration // the external API's latency once slow
	SlowAfter     float64       // fraction of Duration after which it is slow
	ClientTimeout time.Duration // the load generator gives up on a request after this
	DSN           string        // "" for the embedded SQLite
	DB            string        // "sql" or "" (database/sql), "pgx" (pgxpool; needs DSN)
	Addr          string        // where the API listens; "" for a free loopback port
	Progress      interface{ Write([]byte) (int, error) }
}

func defaultConfig() Config {
	return Config{
		Duration:      12 * time.Second,
		Rate:          100,
		HealthyShare:  0.8,
		Slowness:      3 * time.Second,
		SlowAfter:     0.25,
		ClientTimeout: 4 * time.Second,
	}
}
