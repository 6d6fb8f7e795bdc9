// Package watertightprom exports watertight's Stats to Prometheus.
//
// A Collector holds the instances you add to it and reads their Stats on
// each scrape, and at no other time: between scrapes it costs nothing.
// Register it once:
//
//	c := watertightprom.NewCollector()
//	c.Add(paymentsBulkhead, paymentsBreaker, jobsPool)
//	prometheus.MustRegister(c)
//
// Every metric is named watertight_<package>_<metric>, with its unit in
// the name, and has a name label (Config.Name; give every instance of a
// package a distinct one). Waits and run times are real Prometheus
// histograms built from poolwait's buckets, in seconds, with one bucket
// per octave from 1.024µs to 68.7s: the bounds are exactly poolwait's, so
// no count lands in the wrong bucket.
//
// # Which dependency is holding my service up?
//
// One dashboard's worth of PromQL:
//
//	# Who makes callers wait: p99 wait for a bulkhead slot or a pool worker, by name.
//	histogram_quantile(0.99, sum by (name, le) (rate(watertight_bulkhead_wait_seconds_bucket[5m])))
//	histogram_quantile(0.99, sum by (name, le) (rate(watertight_pool_wait_seconds_bucket[5m])))
//	# Who refuses work, and why (full, wait timeout, closed, open breaker ...).
//	sum by (name, reason) (rate(watertight_bulkhead_rejected_total[5m]))
//	sum by (name) (rate(watertight_breaker_calls_total{outcome="rejected"}[5m]))
//	# Which breakers are not closed.
//	watertight_breaker_state{state!="closed"} == 1
//	# Which calls our deadlines cut short.
//	sum by (name) (rate(watertight_timeout_exceeded_total[5m]))
//	# Retries: the extra load they add, and the calls they could not save.
//	sum by (name) (rate(watertight_retry_retries_total[5m])) / sum by (name) (rate(watertight_retry_calls_total[5m]))
//	sum by (name, reason) (rate(watertight_retry_gave_up_total[5m]))
//	# The pools that are not ours (pgx, go-redis, database/sql): the checkout wait
//	# p99 where every wait is measured (pgx), the mean wait where it is not, how
//	# full each pool is, how long connections are held, and leaks.
//	histogram_quantile(0.99, sum by (db_client_connection_pool_name, le) (rate(db_client_connection_wait_time_seconds_bucket[5m])))
//	rate(watertight_connection_pool_waited_seconds_total[5m]) / rate(watertight_connection_pool_waited_total[5m])
//	db_client_connections_usage{db_client_connection_state="used"} / on (db_client_connection_pool_name) db_client_connection_max
//	histogram_quantile(0.99, sum by (db_client_connection_pool_name, le) (rate(db_client_connection_use_time_seconds_bucket[5m])))
//	watertight_connection_pool_open_leaks > 0
//
// A wait p99 that climbs while CPU is idle names the exhausted pool; the
// breaker and rejection rates show which dependency it is guarding.
//
// # Connection pools
//
// A poolwait.Pool — a *poolwait.DB, contrib/pgx's Tracer, contrib/redis's
// Pool — is exported under OpenTelemetry's database client names, as
// Prometheus spells them, with the pool's name in the
// db_client_connection_pool_name label: db_client_connections_usage by
// db_client_connection_state (used, idle), db_client_connection_max,
// db_client_connection_pending_requests, db_client_connection_timeouts_total,
// and the histograms db_client_connection_wait_time_seconds (only for
// pools that tell every checkout's wait: pgx) and
// db_client_connection_use_time_seconds (the hold, where it is measured).
// What those names lack is watertight_connection_pool_*: the pool's kind,
// the checkouts that waited and their total wait (the mean, for pools
// that tell no single wait: database/sql, go-redis), checkouts by
// outcome, and leaks.
package watertightprom

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/internal/instances"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// Collector is a prometheus.Collector of watertight instances. The zero
// value is not ready; use NewCollector.
type Collector struct {
	mu      sync.Mutex
	sources []any
	dbs     map[*poolwait.DB]string
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector { return &Collector{dbs: map[*poolwait.DB]string{}} }

// Add adds instances to collect: *bulkhead.Bulkhead, *timeout.Timeout,
// *pool.Pool, *breaker.Breaker, *retry.Retry and *hedge.Hedge (and their
// budgets), *budget.Budget, *httpguard.Hosts (every host's policies, looked into
// through Chain), *poolwait.ConnWaits, a poolwait.Pool (a *poolwait.DB,
// contrib/pgx's Tracer, contrib/redis's Pool: see "Connection pools"), a
// pool.JobKinds (contrib/river's Middleware: watertight_jobs_* by job
// kind, in the name label), or a Chain of these. It returns an error for anything else, for nil, and
// for a pool without a name.
//
// An instance added twice (Add(b) and Add(Chain(t, b))) is exported once.
// Two different instances of one kind with one name would export colliding
// series, which makes Prometheus answer every scrape with an error: Add
// refuses them. Instances that appear later (a per-host factory's
// policies) and collide are exported once, the first one found.
func (c *Collector) Add(values ...any) error {
	if err := instances.Check("watertightprom: Add", values); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	all := append(append([]any(nil), c.sources...), values...)
	if err := instances.CheckNames("watertightprom: Add", all); err != nil {
		return err
	}
	c.sources = all
	return nil
}

// AddDB adds a database/sql pool sampler under name, as the
// watertight_sql_* series. The collector reads its cumulative counts; the
// sampler's interval deltas are then those between scrapes.
//
// Deprecated: name the pool (poolwait.NewDB(db, poolwait.WithName(name)),
// or poolwait.OpenDB, which also measures holds and leaks) and Add it: it
// is then exported beside every other pool, under the database client
// names.
func (c *Collector) AddDB(name string, db *poolwait.DB) error {
	if db == nil {
		return fmt.Errorf("watertightprom: AddDB: nil *poolwait.DB for %q", name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for other, n := range c.dbs {
		if n == name && other != db {
			return fmt.Errorf("watertightprom: AddDB: another *poolwait.DB is named %q already; give each pool a name of its own (two would export colliding series, and every scrape would fail)", name)
		}
	}
	c.dbs[db] = name
	return nil
}

// Describe sends the descriptions of every metric the Collector may
// export.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect reads the Stats of every instance and sends their metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	sources := append([]any(nil), c.sources...)
	dbs := make(map[*poolwait.DB]string, len(c.dbs))
	for db, name := range c.dbs {
		dbs[db] = name
	}
	c.mu.Unlock()
	instances.Visit(sources, func(v any, seen instances.Seen) { collect(ch, v, seen) })
	for db, name := range dbs {
		collectDB(ch, name, db.Stats())
	}
}

// collect sends the metrics of one instance (instances.Visit finds those
// inside chains and per-host transports, once each).
func collect(ch chan<- prometheus.Metric, v any, seen instances.Seen) {
	switch v := v.(type) {
	case *bulkhead.Bulkhead:
		collectBulkhead(ch, v.Name(), v.Stats())
	case *timeout.Timeout:
		collectTimeout(ch, v.Name(), v.Stats())
	case *pool.Pool:
		collectPool(ch, v.Name(), v.Stats())
	case *breaker.Breaker:
		collectBreaker(ch, v.Name(), v.Stats())
	case *retry.Retry:
		collectRetry(ch, v.Name(), v.Stats())
	case *hedge.Hedge:
		collectHedge(ch, v.Name(), v.Stats())
	case *budget.Budget:
		collectBudget(ch, v.Name(), v.Stats())
	case *poolwait.ConnWaits:
		for _, h := range v.Stats() {
			if seen.First("connwaits", h.Host) {
				collectConnWaits(ch, h)
			}
		}
	case *httpguard.Hosts:
		for _, h := range v.Stats() {
			if seen.First("host", h.Host) {
				ch <- gauge(hostInFlight, float64(h.InFlight), h.Host)
			}
		}
	case poolwait.Pool:
		collectConnPool(ch, v.PoolName(), v.PoolStats())
	case pool.JobKind:
		collectJobKind(ch, v.JobKind(), v.JobStats())
	}
}
