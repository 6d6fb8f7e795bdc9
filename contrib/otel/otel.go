// Package watertightotel exports watertight's Stats as OpenTelemetry
// metrics: observable instruments, read in one callback at each
// collection and at no other time.
//
//	a, err := watertightotel.Register(otel.GetMeterProvider(), paymentsBulkhead, paymentsBreaker)
//	...
//	defer a.Unregister()
//
// Instruments are named watertight.<package>.<metric> (durations in
// seconds, unit "s"), with a name attribute (Config.Name).
//
// # Distributions
//
// OpenTelemetry has no asynchronous histogram. Recording every wait into
// a synchronous histogram would put a call on every hot path (a bulkhead
// slot, a pool task) even when no adapter is attached, so this adapter
// does not. It reads the poolwait histogram each instance already keeps:
// a counter of the waits (…wait.count), a counter of their total
// (…wait.duration.sum, seconds), the largest wait so far, and a gauge of
// quantiles (…wait.duration.quantile, attribute watertight.quantile = 0.5, 0.9,
// 0.99) over the waits since the previous collection, within
// poolwait.QuantileError. Quantiles cannot be added up across instances;
// for real histograms, use the Prometheus adapter, which exports
// poolwait's buckets as they are. Collect with one reader: each collection
// starts the next quantile interval.
//
// # Which dependency is holding my service up?
//
// Chart watertight.bulkhead.wait.duration.quantile and
// watertight.pool.wait.duration.quantile (quantile 0.99) by name, the rate
// of watertight.bulkhead.rejected and watertight.breaker.calls
// (outcome=rejected) by name and reason, and watertight.breaker.state
// (1 for the current state). A wait quantile that climbs while CPU is idle
// names the exhausted pool.
//
// # Connection pools
//
// A poolwait.Pool — a *poolwait.DB, contrib/pgx's Tracer, contrib/redis's
// Pool — is observed under OpenTelemetry's database client metrics, with
// the pool's name in db.client.connection.pool.name:
// db.client.connections.usage by db.client.connection.state (used, idle),
// db.client.connection.max, db.client.connection.pending_requests
// (up-down counters, as the conventions say), db.client.connection.timeouts.
// The conventions' histograms db.client.connection.wait_time (only for
// pools that tell every checkout's wait: pgx) and
// db.client.connection.use_time (the hold) cannot be asynchronous
// instruments; they are observed as the other distributions here, under
// the histogram's name: .count, .sum, .max and .quantile. The
// connections by state are db.client.connections.usage, the conventions'
// earlier name, as in the Prometheus adapter: the current one,
// db.client.connection.count, becomes db_client_connection_count in
// Prometheus (OpenTelemetry's exporter included), which promtool check
// metrics rejects (a gauge must not end in _count, a histogram's suffix),
// and one name in both adapters lets one dashboard read either. What the
// conventions lack is watertight.connection_pool.*: the pool's kind, the
// checkouts that waited and their total wait (the mean, for pools that
// tell no single wait: database/sql, go-redis), checkouts by outcome,
// and leaks.
package watertightotel

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/internal/instances"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// Adapter observes a set of watertight instances for a MeterProvider.
type Adapter struct {
	in  instruments
	reg metric.Registration

	mu      sync.Mutex
	sources []any
	dbs     map[*poolwait.DB]string
	prev    map[distKey]poolwait.Stats // the previous collection's snapshot of each distribution
	cur     map[distKey]poolwait.Stats // this collection's: only the instances still observed
}

// distKey names one distribution of one instance.
type distKey struct {
	instance any
	which    string
}

// Register creates the instruments on mp's meter for this package and
// observes values (see Add for what they may be).
func Register(mp metric.MeterProvider, values ...any) (*Adapter, error) {
	if mp == nil {
		return nil, errors.New("watertightotel: Register: nil MeterProvider")
	}
	a := &Adapter{prev: map[distKey]poolwait.Stats{}, dbs: map[*poolwait.DB]string{}}
	if err := a.Add(values...); err != nil {
		return nil, err
	}
	meter := mp.Meter("github.com/watertight-go/watertight/contrib/otel")
	var err error
	if a.in, err = newInstruments(meter); err != nil {
		return nil, err
	}
	if a.reg, err = meter.RegisterCallback(a.observe, a.in.all...); err != nil {
		return nil, err
	}
	return a, nil
}

// Add observes more instances: *bulkhead.Bulkhead, *timeout.Timeout,
// *pool.Pool, *breaker.Breaker, *retry.Retry and *hedge.Hedge (and their
// budgets), *budget.Budget, *httpguard.Hosts (every host's policies),
// *poolwait.ConnWaits, a poolwait.Pool (a *poolwait.DB, contrib/pgx's
// Tracer, contrib/redis's Pool: see "Connection pools"), a pool.JobKinds
// (contrib/river's Middleware: watertight.jobs.* by job kind, in the name
// attribute), or a Chain of these. A pool needs a name.
//
// An instance added twice (Add(b) and Add(Chain(t, b))) is observed once.
// Two different instances of one kind with one name would report one
// series twice: Add refuses them. Instances that appear later (a per-host
// factory's policies) and collide are observed once, the first one found.
func (a *Adapter) Add(values ...any) error {
	if err := instances.Check("watertightotel: Add", values); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	all := append(append([]any(nil), a.sources...), values...)
	if err := instances.CheckNames("watertightotel: Add", all); err != nil {
		return err
	}
	a.sources = all
	return nil
}

// AddDB observes a database/sql pool sampler under name, as the
// watertight.sql.* instruments. The adapter reads its cumulative counts;
// the sampler's interval deltas are then those between collections.
//
// Deprecated: name the pool (poolwait.NewDB(db, poolwait.WithName(name)),
// or poolwait.OpenDB, which also measures holds and leaks) and Add it: it
// is then observed beside every other pool, under the database client
// names.
func (a *Adapter) AddDB(name string, db *poolwait.DB) error {
	if db == nil {
		return fmt.Errorf("watertightotel: AddDB: nil *poolwait.DB for %q", name)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for other, n := range a.dbs {
		if n == name && other != db {
			return fmt.Errorf("watertightotel: AddDB: another *poolwait.DB is named %q already; give each pool a name of its own (two would export colliding series, and every scrape would fail)", name)
		}
	}
	a.dbs[db] = name
	return nil
}

// Unregister stops observing.
func (a *Adapter) Unregister() error { return a.reg.Unregister() }

func (a *Adapter) observe(_ context.Context, o metric.Observer) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	// Snapshots of instances no longer found (an evicted host's policies)
	// are dropped with the old map, so the adapter does not keep them
	// alive.
	a.cur = make(map[distKey]poolwait.Stats, len(a.prev))
	instances.Visit(a.sources, func(v any, seen instances.Seen) { a.observeOne(o, v, seen) })
	a.prev, a.cur = a.cur, nil
	for db, name := range a.dbs {
		st, attrs := db.Stats(), named(name)
		o.ObserveInt64(a.in.sqlMaxOpen, int64(st.MaxOpen), attrs)
		o.ObserveInt64(a.in.sqlOpen, int64(st.Open), attrs)
		o.ObserveInt64(a.in.sqlInUse, int64(st.InUse), attrs)
		o.ObserveInt64(a.in.sqlIdle, int64(st.Idle), attrs)
		o.ObserveInt64(a.in.sqlWaits, st.WaitCount, attrs)
		o.ObserveFloat64(a.in.sqlWaitTime, st.WaitDuration.Seconds(), attrs)
	}
	return nil
}

// observeOne reports one instance (instances.Walk finds those inside
// chains and per-host transports).
func (a *Adapter) observeOne(o metric.Observer, s any, seen instances.Seen) {
	in := &a.in
	switch s := s.(type) {
	case *bulkhead.Bulkhead:
		st, name := s.Stats(), named(s.Name())
		o.ObserveInt64(in.bulkheadLimit, int64(st.MaxConcurrent), name)
		o.ObserveInt64(in.bulkheadInFlight, int64(st.InFlight), name)
		o.ObserveInt64(in.bulkheadWaiting, int64(st.Waiting), name)
		o.ObserveInt64(in.bulkheadAcquired, int64(st.Acquired), name)
		o.ObserveInt64(in.bulkheadRejected, int64(st.Rejected), named(s.Name(), attribute.String("reason", "full")))
		o.ObserveInt64(in.bulkheadRejected, int64(st.TimedOut), named(s.Name(), attribute.String("reason", "wait_timeout")))
		o.ObserveInt64(in.bulkheadCanceled, int64(st.Canceled), name)
		o.ObserveInt64(in.bulkheadShed, int64(st.Shed), name)
		o.ObserveInt64(in.bulkheadControlled, boolInt(st.Controlled), name)
		a.observeDist(o, in.bulkheadWait, distKey{s, "wait"}, st.Wait, s.Name())
	case *timeout.Timeout:
		st, name := s.Stats(), named(s.Name())
		o.ObserveInt64(in.timeoutCalls, int64(st.Calls), name)
		o.ObserveInt64(in.timeoutExceeded, int64(st.Exceeded), name)
		o.ObserveInt64(in.timeoutCanceled, int64(st.Canceled), name)
		o.ObserveInt64(in.timeoutRefused, int64(st.Refused), name)
		o.ObserveInt64(in.timeoutAbandoned, st.Abandoned, name)
		o.ObserveInt64(in.timeoutLatePanics, int64(st.LatePanics), name)
		a.observeDist(o, in.timeoutDuration, distKey{s, "duration"}, st.Duration, s.Name())
	case *pool.Pool:
		st, name := s.Stats(), named(s.Name())
		o.ObserveInt64(in.poolWorkers, int64(st.Workers), name)
		o.ObserveInt64(in.poolBusy, int64(st.Busy), name)
		o.ObserveInt64(in.poolQueued, int64(st.Queued), name)
		o.ObserveInt64(in.poolSubmitted, int64(st.Submitted), name)
		o.ObserveInt64(in.poolCompleted, int64(st.Completed), name)
		o.ObserveInt64(in.poolRejected, int64(st.Rejected), name)
		o.ObserveInt64(in.poolExpired, int64(st.Expired), name)
		o.ObserveInt64(in.poolPanicked, int64(st.Panicked), name)
		o.ObserveInt64(in.poolShed, int64(st.Shed), name)
		o.ObserveInt64(in.poolFailed, int64(st.Failed), name)
		o.ObserveInt64(in.poolTimedOut, int64(st.TimedOut), name)
		o.ObserveInt64(in.poolControlled, boolInt(st.Controlled), name)
		a.observeDist(o, in.poolWait, distKey{s, "wait"}, st.Wait, s.Name())
		a.observeDist(o, in.poolRun, distKey{s, "run"}, st.Run, s.Name())
	case *breaker.Breaker:
		st := s.Stats()
		for _, state := range []breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen} {
			v := int64(0)
			if st.State == state {
				v = 1
			}
			o.ObserveInt64(in.breakerState, v, named(s.Name(), attribute.String("state", instances.StateLabel(state))))
		}
		for outcome, n := range map[string]uint64{"success": st.Successes, "failure": st.Failures, "ignored": st.Ignored, "rejected": st.Rejected} {
			o.ObserveInt64(in.breakerCalls, int64(n), named(s.Name(), attribute.String("outcome", outcome)))
		}
		o.ObserveInt64(in.breakerTransitions, int64(st.Transitions), named(s.Name()))
		if st.FailureRate >= 0 {
			o.ObserveFloat64(in.breakerFailureRate, st.FailureRate, named(s.Name()))
		}
		if st.SlowCallRate >= 0 {
			o.ObserveFloat64(in.breakerSlowRate, st.SlowCallRate, named(s.Name()))
		}
	case *retry.Retry:
		st, name := s.Stats(), named(s.Name())
		o.ObserveInt64(in.retryCalls, int64(st.Calls), name)
		o.ObserveInt64(in.retryAttempts, int64(st.Attempts), name)
		o.ObserveInt64(in.retryRetries, int64(st.Retries), name)
		o.ObserveInt64(in.retryRecovered, int64(st.Recovered), name)
		for reason, n := range map[retry.Reason]uint64{retry.ReasonAttempts: st.GaveUp.Attempts, retry.ReasonBudget: st.GaveUp.Budget, retry.ReasonDeadline: st.GaveUp.Deadline, retry.ReasonRetryAfter: st.GaveUp.RetryAfter} {
			o.ObserveInt64(in.retryGaveUp, int64(n), named(s.Name(), attribute.String("reason", reason.String())))
		}
		a.observeDist(o, in.retryWait, distKey{s, "wait"}, st.Waited, s.Name())
	case *hedge.Hedge:
		st, name := s.Stats(), named(s.Name())
		o.ObserveInt64(in.hedgeCalls, int64(st.Calls), name)
		o.ObserveInt64(in.hedgeHedges, int64(st.Hedges), name)
		o.ObserveInt64(in.hedgeWins, int64(st.HedgeWins), name)
		o.ObserveInt64(in.hedgeRefused, int64(st.Refused), name)
		o.ObserveInt64(in.hedgeRunning, int64(st.Running), name)
		o.ObserveFloat64(in.hedgeDelay, st.Delay.Seconds(), name)
	case *budget.Budget:
		st, name := s.Stats(), named(s.Name())
		o.ObserveInt64(in.budgetDeposits, int64(st.Deposits), name)
		o.ObserveInt64(in.budgetWithdrawn, int64(st.Withdrawn), name)
		o.ObserveInt64(in.budgetRefused, int64(st.Refused), name)
		o.ObserveInt64(in.budgetAvailable, int64(st.Available), name)
	case poolwait.Pool:
		a.observePool(o, s)
	case pool.JobKind:
		st, name := s.JobStats(), named(s.JobKind())
		o.ObserveInt64(in.jobsRunning, int64(st.Running), name)
		o.ObserveInt64(in.jobsWorked, int64(st.Worked), name)
		o.ObserveInt64(in.jobsFailed, int64(st.Failed), name)
		o.ObserveInt64(in.jobsSnoozed, int64(st.Snoozed), name)
		o.ObserveInt64(in.jobsCanceled, int64(st.Canceled), name)
		a.observeDist(o, in.jobsRun, distKey{s, "run"}, st.Run, s.JobKind())
	case *poolwait.ConnWaits:
		for _, h := range s.Stats() {
			if seen.First("connwaits", h.Host) {
				a.observeDist(o, in.connWait, distKey{s, h.Host}, h.Wait, h.Host)
				o.ObserveInt64(in.connFailed, int64(h.Failed), named(h.Host))
			}
		}
	}
}

// poolName is the semantic conventions' attribute for a pool's name.
const poolName = "db.client.connection.pool.name"

// observePool reports a connection pool under the database client names.
func (a *Adapter) observePool(o metric.Observer, p poolwait.Pool) {
	in, name, st := &a.in.pool, p.PoolName(), p.PoolStats()
	pool := attribute.String(poolName, name)
	attrs := func(more ...attribute.KeyValue) metric.ObserveOption {
		return metric.WithAttributes(append([]attribute.KeyValue{pool}, more...)...)
	}
	o.ObserveInt64(in.info, 1, attrs(attribute.String("kind", st.Kind)))
	o.ObserveInt64(in.count, int64(st.InUse), attrs(attribute.String("db.client.connection.state", "used")))
	o.ObserveInt64(in.count, int64(st.Idle), attrs(attribute.String("db.client.connection.state", "idle")))
	if st.Max > 0 {
		o.ObserveInt64(in.max, int64(st.Max), attrs())
	}
	if st.Pending >= 0 {
		o.ObserveInt64(in.pending, int64(st.Pending), attrs())
	}
	o.ObserveInt64(in.timeouts, int64(st.Timeouts), attrs())
	if st.WaitMeasured {
		a.observeDistWith(o, in.waitTime, distKey{p, "wait"}, st.Wait, pool)
	}
	if st.HoldMeasured {
		a.observeDistWith(o, in.useTime, distKey{p, "hold"}, st.Hold, pool)
	}
	o.ObserveInt64(in.waited, int64(st.Waits), attrs())
	o.ObserveFloat64(in.waitedTime, st.WaitTotal.Seconds(), attrs())
	for outcome, n := range map[string]uint64{"ok": st.Acquired, "canceled": st.Canceled, "failed": st.Failed} {
		o.ObserveInt64(in.checkouts, int64(n), attrs(attribute.String("outcome", outcome)))
	}
	o.ObserveInt64(in.leaks, int64(st.Leaks), attrs())
	o.ObserveInt64(in.openLeaks, int64(st.OpenLeaks), attrs())
}

var quantiles = []float64{0.5, 0.9, 0.99}

// quantileKey is the attribute that says which quantile a point is. Not
// "quantile": Prometheus reserves that label for summaries, and promtool
// check metrics rejects a gauge that has it.
const quantileKey = "watertight.quantile"

// observeDist reports a distribution: cumulative count and sum, and
// quantiles over the waits since the previous collection.
func (a *Adapter) observeDist(o metric.Observer, d dist, key distKey, cur poolwait.Stats, name string) {
	a.observeDistWith(o, d, key, cur, attribute.String("name", name))
}

// observeDistWith is observeDist with the instance's attribute.
func (a *Adapter) observeDistWith(o metric.Observer, d dist, key distKey, cur poolwait.Stats, who attribute.KeyValue) {
	attrs := metric.WithAttributes(who)
	o.ObserveInt64(d.count, int64(cur.Count), attrs)
	o.ObserveFloat64(d.sum, cur.Total.Seconds(), attrs)
	o.ObserveFloat64(d.max, cur.Max.Seconds(), attrs)
	interval := cur.Sub(a.prev[key])
	a.cur[key] = cur
	if interval.Count == 0 {
		return
	}
	for _, q := range quantiles {
		o.ObserveFloat64(d.quantile, interval.Quantile(q).Seconds(), metric.WithAttributes(who, attribute.Float64(quantileKey, q)))
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func named(name string, more ...attribute.KeyValue) metric.ObserveOption {
	return metric.WithAttributes(append([]attribute.KeyValue{attribute.String("name", name)}, more...)...)
}
