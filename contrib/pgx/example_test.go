package watertightpgx_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	watertightpgx "github.com/watertight-go/watertight/contrib/pgx"
)

// Make the pool with NewPool: its Tracer reads it from the start. Hand
// the Tracer to the metric adapters and the dashboard.
func ExampleNewPool() {
	cfg, err := pgxpool.ParseConfig("postgres://app@db.internal/orders?pool_max_conns=10")
	if err != nil {
		panic(err)
	}
	// pgxpool connects lazily: nothing is dialled until the first query.
	pool, orders, err := watertightpgx.NewPool(context.Background(), cfg, watertightpgx.Config{
		Name:      "orders",
		LeakAfter: 30 * time.Second, // report a connection held longer, with the stack that took it
	})
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	// collector.Add(orders); dash.Add(orders)
	ps := orders.PoolStats()
	fmt.Printf("%s pool %q: %d in use of %d, %d waiting\n", ps.Kind, orders.PoolName(), ps.InUse, ps.Max, ps.Pending)
	// Output: pgx pool "orders": 0 in use of 10, 0 waiting
}
