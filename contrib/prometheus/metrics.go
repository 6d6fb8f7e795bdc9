package watertightprom

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

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

var allDescs []*prometheus.Desc

func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc("watertight_"+name, help, append([]string{"name"}, labels...), nil)
	allDescs = append(allDescs, d)
	return d
}

var (
	bulkheadMax      = desc("bulkhead_max_concurrent_calls", "The bulkhead's limit of calls in flight.")
	bulkheadInFlight = desc("bulkhead_in_flight_calls", "Calls holding a bulkhead slot now.")
	bulkheadWaiting  = desc("bulkhead_waiting_calls", "Callers queued for a bulkhead slot now.")
	bulkheadAcquired = desc("bulkhead_acquired_total", "Bulkhead slots granted.")
	bulkheadRejected = desc("bulkhead_rejected_total", "Calls the bulkhead refused, by reason (full, wait_timeout).", "reason")
	bulkheadCanceled = desc("bulkhead_canceled_total", "Callers whose ctx ended while they waited for a slot.")
	bulkheadShed     = desc("bulkhead_shed_total", "Waiters a CoDel queue refused.")
	bulkheadControl  = desc("bulkhead_queue_controlled", "1 while a CoDel queue stands (newest first, waiters held to the target), else 0.")
	bulkheadWait     = desc("bulkhead_wait_seconds", "How long each granted call waited for its slot.")

	timeoutCalls      = desc("timeout_calls_total", "Calls that started under the timeout.")
	timeoutExceeded   = desc("timeout_exceeded_total", "Calls our deadline ended.")
	timeoutCanceled   = desc("timeout_canceled_total", "Calls the caller's ctx ended.")
	timeoutRefused    = desc("timeout_refused_total", "Calls not started: too little time left (ErrNoBudget).")
	timeoutAbandoned  = desc("timeout_abandoned_calls", "Abandoned calls whose function is still running.")
	timeoutLatePanics = desc("timeout_late_panics_total", "Abandoned calls that panicked after their caller left.")
	timeoutDuration   = desc("timeout_duration_seconds", "How long each call kept its caller.")

	poolWorkers   = desc("pool_workers", "The pool's workers.")
	poolBusy      = desc("pool_busy_workers", "Workers running a task now.")
	poolQueued    = desc("pool_queued_tasks", "Tasks waiting for a worker now.")
	poolQueueSize = desc("pool_queue_size_tasks", "How many tasks the queue holds.")
	poolSubmitted = desc("pool_submitted_total", "Tasks accepted into the queue.")
	poolCompleted = desc("pool_completed_total", "Tasks that ran and returned.")
	poolRejected  = desc("pool_rejected_total", "Tasks refused: queue full or pool closed.")
	poolCanceled  = desc("pool_canceled_total", "Submitters whose ctx ended before their task was accepted.")
	poolExpired   = desc("pool_expired_total", "Accepted tasks skipped because their ctx ended while queued.")
	poolPanicked  = desc("pool_panicked_total", "Tasks that panicked.")
	poolShed      = desc("pool_shed_total", "Tasks a CoDel queue shed, never run.")
	poolFailed    = desc("pool_failed_total", "Fire-and-forget tasks that returned an error after the pool's policy gave up on them.")
	poolTimedOut  = desc("pool_timed_out_total", "Tasks that returned after their TaskTimeout ended their ctx.")
	poolControl   = desc("pool_queue_controlled", "1 while a CoDel queue stood at a worker's last look, else 0.")
	poolWait      = desc("pool_wait_seconds", "How long each task waited in the queue.")
	poolRun       = desc("pool_run_seconds", "How long each task ran.")

	breakerState       = desc("breaker_state", "1 for the breaker's current state, 0 for the others.", "state")
	breakerCalls       = desc("breaker_calls_total", "Calls by outcome: success, failure, ignored (counted neither way), rejected.", "outcome")
	breakerSlowCalls   = desc("breaker_slow_calls_total", "Calls slower than SlowCall.")
	breakerTransitions = desc("breaker_transitions_total", "State transitions.")
	breakerFailureRate = desc("breaker_failure_ratio", "Failed share of the calls in the window; absent below MinCalls.")
	breakerSlowRate    = desc("breaker_slow_call_ratio", "Slow share of the calls in the window; absent below MinCalls or without SlowCall.")
	breakerWindowCalls = desc("breaker_window_calls", "Calls in the closed breaker's window.")
	breakerOpenLeft    = desc("breaker_open_remaining_seconds", "Time left in the open period; 0 unless open.")

	retryCalls     = desc("retry_calls_total", "Calls made through the retry.")
	retryAttempts  = desc("retry_attempts_total", "Attempts made, the first of each call included.")
	retryRetries   = desc("retry_retries_total", "Attempts after the first.")
	retryRecovered = desc("retry_recovered_total", "Calls that succeeded after a retry.")
	retryGaveUp    = desc("retry_gave_up_total", "Calls that ended on a retryable error, by reason (attempts, budget, deadline, retry_after).", "reason")
	retryWait      = desc("retry_wait_seconds", "How long each wait between attempts lasted.")

	hedgeCalls   = desc("hedge_calls_total", "Calls made through the hedge.")
	hedgeHedges  = desc("hedge_hedges_total", "Extra attempts (hedges) sent.")
	hedgeWins    = desc("hedge_wins_total", "Calls a hedge won.")
	hedgeRefused = desc("hedge_refused_total", "Hedges the budget refused.")
	hedgeRunning = desc("hedge_running_attempts", "Hedge attempts still running (losers, once their call is decided).")
	hedgeDelay   = desc("hedge_delay_seconds", "The delay before a hedge now; 0 while an adaptive delay warms up.")

	budgetDeposits  = desc("budget_deposits_total", "Requests recorded in the retry budget.")
	budgetWithdrawn = desc("budget_withdrawn_total", "Extra attempts (retries, hedges) the budget granted.")
	budgetRefused   = desc("budget_refused_total", "Extra attempts the budget refused.")
	budgetAvailable = desc("budget_available_attempts", "Extra attempts the budget would grant now.")

	hostInFlight = desc("httpguard_host_in_flight_requests", "Requests to the host in flight now (the name label is the host).")

	sqlMaxOpen  = desc("sql_max_open_connections", "The database pool's limit (0: unlimited).")
	sqlOpen     = desc("sql_open_connections", "Connections open, in use or idle.")
	sqlInUse    = desc("sql_in_use_connections", "Connections checked out now.")
	sqlIdle     = desc("sql_idle_connections", "Connections open and free now.")
	sqlWaits    = desc("sql_waits_total", "Checkouts that had to wait for a connection.")
	sqlWaitTime = desc("sql_wait_seconds_total", "Total time checkouts waited for a connection.")

	connWait   = desc("http_conn_wait_seconds", "How long each request waited for a connection to the host (the name label is host:port).")
	connReused = desc("http_conn_reused_total", "Requests that got an idle connection.")
	connNew    = desc("http_conn_new_total", "Requests that dialed a new connection.")
	connFailed = desc("http_conn_failed_total", "Connection checkouts that ended without a connection (ctx ended while queued, dial failed).")
)

// poolDesc describes a series of a connection pool (a poolwait.Pool),
// named as OpenTelemetry's database client metrics are in Prometheus, or,
// for what they lack, watertight_connection_pool_*; every one carries
// the pool's name as OpenTelemetry's attribute does. One exception: the
// connections by state are db_client_connections_usage, the semantic
// conventions' earlier name (db.client.connections.usage, which HikariCP's
// and otelsql's dashboards know), because the current one,
// db_client_connection_count, fails promtool check metrics: a gauge must
// not end in _count, a histogram's suffix.
func poolDesc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(name, help, append([]string{poolLabel}, labels...), nil)
	allDescs = append(allDescs, d)
	return d
}

// poolLabel is OpenTelemetry's db.client.connection.pool.name, spelled as
// its Prometheus exporter spells it.
const poolLabel = "db_client_connection_pool_name"

var (
	poolConnCount  = poolDesc("db_client_connections_usage", "Connections open now, by state: used (checked out) or idle.", "db_client_connection_state")
	poolConnMax    = poolDesc("db_client_connection_max", "The pool's limit of open connections (absent when it has none, or does not tell).")
	poolPending    = poolDesc("db_client_connection_pending_requests", "Callers waiting for a connection now (absent when the pool does not tell).")
	poolTimeouts   = poolDesc("db_client_connection_timeouts_total", "Checkouts that gave up waiting, at the pool's own timeout.")
	poolWaitTime   = poolDesc("db_client_connection_wait_time_seconds", "How long each checkout waited for a connection, zero waits included (pools that tell every checkout: pgx).")
	poolUseTime    = poolDesc("db_client_connection_use_time_seconds", "How long each connection was held, from checkout to return.")
	poolInfo       = poolDesc("watertight_connection_pool_info", "1 for each pool, with its kind (database/sql, pgx, redis).", "kind")
	poolWaited     = poolDesc("watertight_connection_pool_waited_total", "Checkouts that found no idle connection and waited, as the pool counts them.")
	poolWaitedTime = poolDesc("watertight_connection_pool_waited_seconds_total", "Their total wait: over waited_total, the mean wait of pools that tell no single wait (database/sql, go-redis).")
	poolCheckouts  = poolDesc("watertight_connection_pool_checkouts_total", "Checkouts, by outcome: ok, canceled (the ctx ended while waiting), failed.", "outcome")
	poolLeaks      = poolDesc("watertight_connection_pool_leaks_total", "Connections held past the leak threshold.")
	poolOpenLeaks  = poolDesc("watertight_connection_pool_open_leaks", "Connections held past the leak threshold now.")
)

func collectConnPool(ch chan<- prometheus.Metric, name string, s poolwait.PoolStats) {
	ch <- gauge(poolInfo, 1, name, s.Kind)
	ch <- gauge(poolConnCount, float64(s.InUse), name, "used")
	ch <- gauge(poolConnCount, float64(s.Idle), name, "idle")
	if s.Max > 0 {
		ch <- gauge(poolConnMax, float64(s.Max), name)
	}
	if s.Pending >= 0 {
		ch <- gauge(poolPending, float64(s.Pending), name)
	}
	ch <- counter(poolTimeouts, s.Timeouts, name)
	if s.WaitMeasured {
		ch <- histogram(poolWaitTime, s.Wait, name)
	}
	if s.HoldMeasured {
		ch <- histogram(poolUseTime, s.Hold, name)
	}
	ch <- counter(poolWaited, s.Waits, name)
	ch <- prometheus.MustNewConstMetric(poolWaitedTime, prometheus.CounterValue, s.WaitTotal.Seconds(), name)
	ch <- counter(poolCheckouts, s.Acquired, name, "ok")
	ch <- counter(poolCheckouts, s.Canceled, name, "canceled")
	ch <- counter(poolCheckouts, s.Failed, name, "failed")
	ch <- counter(poolLeaks, s.Leaks, name)
	ch <- gauge(poolOpenLeaks, float64(s.OpenLeaks), name)
}

var (
	jobsRunning  = desc("jobs_running", "Jobs of the kind running now (the name label is the job kind).")
	jobsWorked   = desc("jobs_worked_total", "Jobs of the kind that ran through the engine's worker, whatever came of them.")
	jobsFailed   = desc("jobs_failed_total", "Jobs that ended in an error, left to the engine's own retries.")
	jobsSnoozed  = desc("jobs_snoozed_total", "Jobs put off, without using up an attempt, because a policy refused them.")
	jobsCanceled = desc("jobs_canceled_total", "Jobs cancelled for good: a permanent error.")
	jobsRun      = desc("jobs_run_seconds", "How long each job ran, its policy's waits and retries included.")
)

func collectJobKind(ch chan<- prometheus.Metric, name string, s pool.JobStats) {
	ch <- gauge(jobsRunning, float64(s.Running), name)
	ch <- counter(jobsWorked, s.Worked, name)
	ch <- counter(jobsFailed, s.Failed, name)
	ch <- counter(jobsSnoozed, s.Snoozed, name)
	ch <- counter(jobsCanceled, s.Canceled, name)
	ch <- histogram(jobsRun, s.Run, name)
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func counter(d *prometheus.Desc, v uint64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

// octaves are the histogram bounds: one per octave of poolwait's buckets,
// so every bound is exactly a bucket boundary.
var octaves = func() []int {
	var idx []int // the last poolwait bucket of each octave
	for i := 0; i < poolwait.NumBuckets-1; i++ {
		up := poolwait.BucketUpperBound(i)
		if up&(up-1) == 0 { // a power of two nanoseconds
			idx = append(idx, i)
		}
	}
	return idx
}()

// histogram turns a poolwait distribution into a Prometheus histogram in
// seconds.
func histogram(d *prometheus.Desc, s poolwait.Stats, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(octaves))
	var cum uint64
	next := 0
	for _, last := range octaves {
		for ; next <= last; next++ {
			cum += s.Buckets[next]
		}
		buckets[poolwait.BucketUpperBound(last).Seconds()] = cum
	}
	return prometheus.MustNewConstHistogram(d, s.Count, s.Total.Seconds(), buckets, labels...)
}

func collectBulkhead(ch chan<- prometheus.Metric, name string, s bulkhead.Stats) {
	ch <- gauge(bulkheadMax, float64(s.MaxConcurrent), name)
	ch <- gauge(bulkheadInFlight, float64(s.InFlight), name)
	ch <- gauge(bulkheadWaiting, float64(s.Waiting), name)
	ch <- counter(bulkheadAcquired, s.Acquired, name)
	ch <- counter(bulkheadRejected, s.Rejected, name, "full")
	ch <- counter(bulkheadRejected, s.TimedOut, name, "wait_timeout")
	ch <- counter(bulkheadCanceled, s.Canceled, name)
	ch <- counter(bulkheadShed, s.Shed, name)
	ch <- gauge(bulkheadControl, boolGauge(s.Controlled), name)
	ch <- histogram(bulkheadWait, s.Wait, name)
}

func collectTimeout(ch chan<- prometheus.Metric, name string, s timeout.Stats) {
	ch <- counter(timeoutCalls, s.Calls, name)
	ch <- counter(timeoutExceeded, s.Exceeded, name)
	ch <- counter(timeoutCanceled, s.Canceled, name)
	ch <- counter(timeoutRefused, s.Refused, name)
	ch <- gauge(timeoutAbandoned, float64(s.Abandoned), name)
	ch <- counter(timeoutLatePanics, s.LatePanics, name)
	ch <- histogram(timeoutDuration, s.Duration, name)
}

func collectPool(ch chan<- prometheus.Metric, name string, s pool.Stats) {
	ch <- gauge(poolWorkers, float64(s.Workers), name)
	ch <- gauge(poolBusy, float64(s.Busy), name)
	ch <- gauge(poolQueued, float64(s.Queued), name)
	ch <- gauge(poolQueueSize, float64(s.QueueSize), name)
	ch <- counter(poolSubmitted, s.Submitted, name)
	ch <- counter(poolCompleted, s.Completed, name)
	ch <- counter(poolRejected, s.Rejected, name)
	ch <- counter(poolCanceled, s.Canceled, name)
	ch <- counter(poolExpired, s.Expired, name)
	ch <- counter(poolPanicked, s.Panicked, name)
	ch <- counter(poolShed, s.Shed, name)
	ch <- counter(poolFailed, s.Failed, name)
	ch <- counter(poolTimedOut, s.TimedOut, name)
	ch <- gauge(poolControl, boolGauge(s.Controlled), name)
	ch <- histogram(poolWait, s.Wait, name)
	ch <- histogram(poolRun, s.Run, name)
}

var breakerStates = []breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen}

func collectBreaker(ch chan<- prometheus.Metric, name string, s breaker.Stats) {
	for _, st := range breakerStates {
		v := 0.0
		if s.State == st {
			v = 1
		}
		ch <- gauge(breakerState, v, name, instances.StateLabel(st))
	}
	ch <- counter(breakerCalls, s.Successes, name, "success")
	ch <- counter(breakerCalls, s.Failures, name, "failure")
	ch <- counter(breakerCalls, s.Ignored, name, "ignored")
	ch <- counter(breakerCalls, s.Rejected, name, "rejected")
	ch <- counter(breakerSlowCalls, s.SlowCalls, name)
	ch <- counter(breakerTransitions, s.Transitions, name)
	ch <- gauge(breakerWindowCalls, float64(s.WindowCalls), name)
	if s.FailureRate >= 0 {
		ch <- gauge(breakerFailureRate, s.FailureRate, name)
	}
	if s.SlowCallRate >= 0 {
		ch <- gauge(breakerSlowRate, s.SlowCallRate, name)
	}
	ch <- gauge(breakerOpenLeft, math.Max(0, s.OpenLeft.Seconds()), name)
}

func collectRetry(ch chan<- prometheus.Metric, name string, s retry.Stats) {
	ch <- counter(retryCalls, s.Calls, name)
	ch <- counter(retryAttempts, s.Attempts, name)
	ch <- counter(retryRetries, s.Retries, name)
	ch <- counter(retryRecovered, s.Recovered, name)
	ch <- counter(retryGaveUp, s.GaveUp.Attempts, name, retry.ReasonAttempts.String())
	ch <- counter(retryGaveUp, s.GaveUp.Budget, name, retry.ReasonBudget.String())
	ch <- counter(retryGaveUp, s.GaveUp.Deadline, name, retry.ReasonDeadline.String())
	ch <- counter(retryGaveUp, s.GaveUp.RetryAfter, name, retry.ReasonRetryAfter.String())
	ch <- histogram(retryWait, s.Waited, name)
}

func collectHedge(ch chan<- prometheus.Metric, name string, s hedge.Stats) {
	ch <- counter(hedgeCalls, s.Calls, name)
	ch <- counter(hedgeHedges, s.Hedges, name)
	ch <- counter(hedgeWins, s.HedgeWins, name)
	ch <- counter(hedgeRefused, s.Refused, name)
	ch <- gauge(hedgeRunning, float64(s.Running), name)
	ch <- gauge(hedgeDelay, s.Delay.Seconds(), name)
}

func collectBudget(ch chan<- prometheus.Metric, name string, s budget.Stats) {
	ch <- counter(budgetDeposits, s.Deposits, name)
	ch <- counter(budgetWithdrawn, s.Withdrawn, name)
	ch <- counter(budgetRefused, s.Refused, name)
	ch <- gauge(budgetAvailable, float64(s.Available), name)
}

func collectDB(ch chan<- prometheus.Metric, name string, s poolwait.DBStats) {
	ch <- gauge(sqlMaxOpen, float64(s.MaxOpen), name)
	ch <- gauge(sqlOpen, float64(s.Open), name)
	ch <- gauge(sqlInUse, float64(s.InUse), name)
	ch <- gauge(sqlIdle, float64(s.Idle), name)
	ch <- counter(sqlWaits, uint64(s.WaitCount), name)
	ch <- prometheus.MustNewConstMetric(sqlWaitTime, prometheus.CounterValue, s.WaitDuration.Seconds(), name)
}

func collectConnWaits(ch chan<- prometheus.Metric, h poolwait.HostConnWaits) {
	ch <- histogram(connWait, h.Wait, h.Host)
	ch <- counter(connReused, h.Reused, h.Host)
	ch <- counter(connNew, h.New, h.Host)
	ch <- counter(connFailed, h.Failed, h.Host)
}
