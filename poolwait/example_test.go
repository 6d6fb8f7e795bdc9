package poolwait_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/watertight-go/watertight/internal/fakesql"
	"github.com/watertight-go/watertight/poolwait"
)

func ExampleRecorder() {
	var r poolwait.Recorder // the zero value is ready
	for range 90 {
		r.Observe(0) // most callers got a slot at once
	}
	for range 10 {
		r.Observe(200 * time.Millisecond) // a few waited
	}
	s := r.Stats()
	fmt.Println("waits:", s.Count, "mean:", s.Mean(), "max:", s.Max)
	fmt.Println("p50:", s.Quantile(0.5))
	fmt.Println("p99:", s.Quantile(0.99).Round(time.Millisecond), "(within 6.1% of 200ms)")
	// Output:
	// waits: 100 mean: 20ms max: 200ms
	// p50: 0s
	// p99: 193ms (within 6.1% of 200ms)
}

func ExampleStats_Sub() {
	var r poolwait.Recorder
	r.Observe(time.Second)
	prev := r.Stats() // the previous scrape

	r.Observe(40 * time.Millisecond)
	r.Observe(60 * time.Millisecond)

	last := r.Stats().Sub(prev) // only the waits since then
	fmt.Println("waits:", last.Count, "mean:", last.Mean())
	// Output:
	// waits: 2 mean: 50ms
}

// ConnWaits measures how long requests wait for a connection from an
// http.Transport's pool, per host.
func ExampleConnWaits() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	tr := &http.Transport{MaxConnsPerHost: 4}
	defer tr.CloseIdleConnections()

	waits := poolwait.NewConnWaits()
	rt, err := waits.Transport(tr)
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: rt}
	for range 3 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for _, h := range waits.Stats() {
		fmt.Println("checkouts:", h.Wait.Count, "new:", h.New, "reused:", h.Reused)
	}
	// Output:
	// checkouts: 3 new: 1 reused: 2
}

// NewDB samples a database/sql pool: how full it is, and how long
// checkouts waited since the previous sample.
func ExampleNewDB() {
	db := sql.OpenDB(fakesql.Connector{}) // your *sql.DB
	defer db.Close()
	db.SetMaxOpenConns(4)
	conn, _ := db.Conn(context.Background()) // a request holding a connection
	defer conn.Close()

	pool, err := poolwait.NewDB(db)
	if err != nil {
		fmt.Println(err)
		return
	}
	st := pool.Stats() // call it from one place: each call starts a new interval
	fmt.Printf("in use %d/%d (%.0f%%), checkouts waited: %d, mean wait %v\n",
		st.InUse, st.MaxOpen, 100*st.Utilization(), st.NewWaits, st.MeanWait)
	// Output:
	// in use 1/4 (25%), checkouts waited: 0, mean wait 0s
}

// OpenDB opens a *sql.DB through a Connector that measures every
// connection's hold, every query and the leaks, and returns the pool's
// view for the metric adapters and the dashboard.
func ExampleOpenDB() {
	// Your driver's connector: pgx's stdlib.GetConnector(cfg), mysql's
	// NewConnector(cfg), pq's NewConnector(dsn) ...
	var connector driver.Connector = fakesql.Timed{}
	db, orders, err := poolwait.OpenDB(connector, poolwait.ConnectorConfig{
		Name:      "orders",
		LeakAfter: 30 * time.Second, // report a connection held longer, with the stack that took it
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	db.SetMaxOpenConns(10)
	for range 3 {
		_, _ = db.ExecContext(context.Background(), "UPDATE orders SET ...")
	}
	ps := orders.PoolStats()
	fmt.Printf("%s pool %q: %d in use of %d; holds measured: %d; waits measured one by one: %v\n",
		ps.Kind, orders.PoolName(), ps.InUse, ps.Max, ps.Hold.Count, ps.WaitMeasured)
	// Output:
	// database/sql pool "orders": 0 in use of 10; holds measured: 3; waits measured one by one: false
}

// Holds measures the holds of a pool of your own, and reports leaks.
func ExampleNewHolds() {
	holds, err := poolwait.NewHolds(poolwait.HoldsConfig{Pool: "workers", LeakAfter: time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	held := holds.Acquire() // as your pool hands out a connection
	holds.Release(held)     // and as it takes it back
	hold, openLeaks, leaks := holds.Stats()
	fmt.Println("holds:", hold.Count, "open leaks:", openLeaks, "leaks ever:", leaks)
	// Output:
	// holds: 1 open leaks: 0 leaks ever: 0
}
