package watertightotel

import "go.opentelemetry.io/otel/metric"

// dist is the instruments of one distribution.
type dist struct {
	count    metric.Int64ObservableCounter
	sum      metric.Float64ObservableCounter
	max      metric.Float64ObservableGauge
	quantile metric.Float64ObservableGauge
}

type instruments struct {
	all []metric.Observable

	bulkheadLimit, bulkheadInFlight, bulkheadWaiting     metric.Int64ObservableGauge
	bulkheadAcquired, bulkheadRejected, bulkheadCanceled metric.Int64ObservableCounter
	bulkheadShed, poolShed                               metric.Int64ObservableCounter
	bulkheadControlled, poolControlled                   metric.Int64ObservableGauge
	bulkheadWait                                         dist
	timeoutCalls, timeoutExceeded, timeoutCanceled       metric.Int64ObservableCounter
	timeoutRefused, timeoutLatePanics                    metric.Int64ObservableCounter
	timeoutAbandoned                                     metric.Int64ObservableGauge
	timeoutDuration                                      dist
	poolWorkers, poolBusy, poolQueued                    metric.Int64ObservableGauge
	poolSubmitted, poolCompleted, poolRejected           metric.Int64ObservableCounter
	poolExpired, poolPanicked                            metric.Int64ObservableCounter
	poolFailed, poolTimedOut                             metric.Int64ObservableCounter
	poolWait, poolRun                                    dist
	breakerState                                         metric.Int64ObservableGauge
	breakerCalls, breakerTransitions                     metric.Int64ObservableCounter
	breakerFailureRate, breakerSlowRate                  metric.Float64ObservableGauge
	retryCalls, retryAttempts, retryRetries              metric.Int64ObservableCounter
	retryRecovered, retryGaveUp                          metric.Int64ObservableCounter
	retryWait                                            dist
	hedgeCalls, hedgeHedges, hedgeWins, hedgeRefused     metric.Int64ObservableCounter
	hedgeRunning                                         metric.Int64ObservableGauge
	hedgeDelay                                           metric.Float64ObservableGauge
	budgetDeposits, budgetWithdrawn, budgetRefused       metric.Int64ObservableCounter
	budgetAvailable                                      metric.Int64ObservableGauge
	connWait                                             dist
	connFailed                                           metric.Int64ObservableCounter
	sqlMaxOpen, sqlOpen, sqlInUse, sqlIdle               metric.Int64ObservableGauge
	sqlWaits                                             metric.Int64ObservableCounter
	sqlWaitTime                                          metric.Float64ObservableCounter
	pool                                                 poolInstruments
	jobsRunning                                          metric.Int64ObservableGauge
	jobsWorked, jobsFailed, jobsSnoozed, jobsCanceled    metric.Int64ObservableCounter
	jobsRun                                              dist
}

// poolInstruments are a connection pool's: OpenTelemetry's database client
// metrics, and watertight.connection_pool.* for what they lack.
type poolInstruments struct {
	count, max, pending      metric.Int64ObservableUpDownCounter
	timeouts                 metric.Int64ObservableCounter
	waitTime, useTime        dist
	info, openLeaks          metric.Int64ObservableGauge
	waited, checkouts, leaks metric.Int64ObservableCounter
	waitedTime               metric.Float64ObservableCounter
}

// builder creates instruments and keeps the first error.
type builder struct {
	m   metric.Meter
	all []metric.Observable
	err error
}

func (b *builder) gauge(name, unit, desc string) metric.Int64ObservableGauge {
	g, err := b.m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.keep(g, err)
	return g
}

func (b *builder) counter(name, unit, desc string) metric.Int64ObservableCounter {
	c, err := b.m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.keep(c, err)
	return c
}

func (b *builder) fgauge(name, unit, desc string) metric.Float64ObservableGauge {
	g, err := b.m.Float64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.keep(g, err)
	return g
}

func (b *builder) dist(prefix, what string) dist {
	d := dist{
		count: b.counter(prefix+".count", "{"+what+"}", "How many "+what+"s were recorded."),
	}
	sum, err := b.m.Float64ObservableCounter(prefix+".duration.sum", metric.WithUnit("s"), metric.WithDescription("The total duration of the "+what+"s."))
	b.keep(sum, err)
	d.sum = sum
	d.max = b.fgauge(prefix+".duration.max", "s", "The longest "+what+" so far.")
	d.quantile = b.fgauge(prefix+".duration.quantile", "s", "Quantiles of the "+what+"s since the previous collection, within 6.1%.")
	return d
}

func (b *builder) upDown(name, unit, desc string) metric.Int64ObservableUpDownCounter {
	c, err := b.m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.keep(c, err)
	return c
}

func (b *builder) fcounter(name, unit, desc string) metric.Float64ObservableCounter {
	c, err := b.m.Float64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.keep(c, err)
	return c
}

// histogramDist is the instruments that stand for a histogram of the
// semantic conventions, which an asynchronous instrument cannot be: under
// the histogram's name, .count, .sum, .max and .quantile.
func (b *builder) histogramDist(name, what string) dist {
	return dist{
		count:    b.counter(name+".count", "{"+what+"}", "How many "+what+"s were recorded."),
		sum:      b.fcounter(name+".sum", "s", "The total duration of the "+what+"s."),
		max:      b.fgauge(name+".max", "s", "The longest "+what+" so far."),
		quantile: b.fgauge(name+".quantile", "s", "Quantiles of the "+what+"s since the previous collection, within 6.1%."),
	}
}

func (b *builder) poolInstruments() poolInstruments {
	return poolInstruments{
		count:      b.upDown("db.client.connections.usage", "{connection}", "Connections open now, by db.client.connection.state: used (checked out) or idle."),
		max:        b.upDown("db.client.connection.max", "{connection}", "The pool's limit of open connections (not reported when it has none, or does not tell)."),
		pending:    b.upDown("db.client.connection.pending_requests", "{request}", "Callers waiting for a connection now (not reported when the pool does not tell)."),
		timeouts:   b.counter("db.client.connection.timeouts", "{timeout}", "Checkouts that gave up waiting, at the pool's own timeout."),
		waitTime:   b.histogramDist("db.client.connection.wait_time", "checkout"),
		useTime:    b.histogramDist("db.client.connection.use_time", "hold"),
		info:       b.gauge("watertight.connection_pool.info", "", "1 for each pool, with its kind (database/sql, pgx, redis)."),
		waited:     b.counter("watertight.connection_pool.waited", "{checkout}", "Checkouts that found no idle connection and waited, as the pool counts them."),
		waitedTime: b.fcounter("watertight.connection_pool.waited.duration.sum", "s", "Their total wait: over waited, the mean wait of pools that tell no single wait (database/sql, go-redis)."),
		checkouts:  b.counter("watertight.connection_pool.checkouts", "{checkout}", "Checkouts, by outcome: ok, canceled (the ctx ended while waiting), failed."),
		leaks:      b.counter("watertight.connection_pool.leaks", "{connection}", "Connections held past the leak threshold."),
		openLeaks:  b.gauge("watertight.connection_pool.open_leaks", "{connection}", "Connections held past the leak threshold now."),
	}
}

func (b *builder) keep(o metric.Observable, err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
	b.all = append(b.all, o)
}

func newInstruments(m metric.Meter) (instruments, error) {
	b := &builder{m: m}
	in := instruments{
		bulkheadLimit:      b.gauge("watertight.bulkhead.limit", "{call}", "The bulkhead's limit of calls in flight."),
		bulkheadInFlight:   b.gauge("watertight.bulkhead.in_flight", "{call}", "Calls holding a bulkhead slot now."),
		bulkheadWaiting:    b.gauge("watertight.bulkhead.waiting", "{call}", "Callers queued for a slot now."),
		bulkheadAcquired:   b.counter("watertight.bulkhead.acquired", "{call}", "Slots granted."),
		bulkheadRejected:   b.counter("watertight.bulkhead.rejected", "{call}", "Calls refused, by reason."),
		bulkheadCanceled:   b.counter("watertight.bulkhead.canceled", "{call}", "Callers whose ctx ended while they waited."),
		bulkheadShed:       b.counter("watertight.bulkhead.shed", "{call}", "Waiters a CoDel queue refused."),
		bulkheadControlled: b.gauge("watertight.bulkhead.queue.controlled", "1", "1 while a CoDel queue stands, else 0."),
		bulkheadWait:       b.dist("watertight.bulkhead.wait", "wait"),

		timeoutCalls:      b.counter("watertight.timeout.calls", "{call}", "Calls started under the timeout."),
		timeoutExceeded:   b.counter("watertight.timeout.exceeded", "{call}", "Calls our deadline ended."),
		timeoutCanceled:   b.counter("watertight.timeout.canceled", "{call}", "Calls the caller's ctx ended."),
		timeoutRefused:    b.counter("watertight.timeout.refused", "{call}", "Calls not started for lack of time."),
		timeoutLatePanics: b.counter("watertight.timeout.late_panics", "{call}", "Abandoned calls that panicked later."),
		timeoutAbandoned:  b.gauge("watertight.timeout.abandoned", "{call}", "Abandoned calls still running."),
		timeoutDuration:   b.dist("watertight.timeout.call", "call"),

		poolWorkers:    b.gauge("watertight.pool.workers", "{worker}", "The pool's workers."),
		poolBusy:       b.gauge("watertight.pool.busy", "{worker}", "Workers running a task now."),
		poolQueued:     b.gauge("watertight.pool.queued", "{task}", "Tasks waiting for a worker now."),
		poolSubmitted:  b.counter("watertight.pool.submitted", "{task}", "Tasks accepted."),
		poolCompleted:  b.counter("watertight.pool.completed", "{task}", "Tasks that ran and returned."),
		poolRejected:   b.counter("watertight.pool.rejected", "{task}", "Tasks refused."),
		poolExpired:    b.counter("watertight.pool.expired", "{task}", "Tasks skipped because their ctx ended while queued."),
		poolPanicked:   b.counter("watertight.pool.panicked", "{task}", "Tasks that panicked."),
		poolShed:       b.counter("watertight.pool.shed", "{task}", "Tasks a CoDel queue shed, never run."),
		poolFailed:     b.counter("watertight.pool.failed", "{task}", "Fire-and-forget tasks that returned an error after the pool's policy gave up on them."),
		poolTimedOut:   b.counter("watertight.pool.timed_out", "{task}", "Tasks that returned after their TaskTimeout ended their ctx."),
		poolControlled: b.gauge("watertight.pool.queue.controlled", "1", "1 while a CoDel queue stood at a worker's last look, else 0."),
		poolWait:       b.dist("watertight.pool.wait", "wait"),
		poolRun:        b.dist("watertight.pool.run", "run"),

		breakerState:       b.gauge("watertight.breaker.state", "1", "1 for the breaker's current state, 0 for the others."),
		breakerCalls:       b.counter("watertight.breaker.calls", "{call}", "Calls by outcome."),
		breakerTransitions: b.counter("watertight.breaker.transitions", "{transition}", "State transitions."),
		breakerFailureRate: b.fgauge("watertight.breaker.failure_rate", "1", "Failed share of the window's calls."),
		breakerSlowRate:    b.fgauge("watertight.breaker.slow_call_rate", "1", "Slow share of the window's calls."),

		retryCalls:     b.counter("watertight.retry.calls", "{call}", "Calls made through the retry."),
		retryAttempts:  b.counter("watertight.retry.attempts", "{attempt}", "Attempts made, the first of each call included."),
		retryRetries:   b.counter("watertight.retry.retries", "{attempt}", "Attempts after the first."),
		retryRecovered: b.counter("watertight.retry.recovered", "{call}", "Calls that succeeded after a retry."),
		retryGaveUp:    b.counter("watertight.retry.gave_up", "{call}", "Calls that ended on a retryable error, by reason."),
		retryWait:      b.dist("watertight.retry.wait", "wait"),

		hedgeCalls:   b.counter("watertight.hedge.calls", "{call}", "Calls made through the hedge."),
		hedgeHedges:  b.counter("watertight.hedge.hedges", "{attempt}", "Extra attempts (hedges) sent."),
		hedgeWins:    b.counter("watertight.hedge.wins", "{call}", "Calls a hedge won."),
		hedgeRefused: b.counter("watertight.hedge.refused", "{attempt}", "Hedges the budget refused."),
		hedgeRunning: b.gauge("watertight.hedge.running", "{attempt}", "Hedge attempts still running."),
		hedgeDelay:   b.fgauge("watertight.hedge.delay", "s", "The delay before a hedge now; 0 while an adaptive delay warms up."),

		budgetDeposits:  b.counter("watertight.budget.deposits", "{request}", "Requests recorded in the retry budget."),
		budgetWithdrawn: b.counter("watertight.budget.withdrawn", "{attempt}", "Extra attempts the budget granted."),
		budgetRefused:   b.counter("watertight.budget.refused", "{attempt}", "Extra attempts the budget refused."),
		budgetAvailable: b.gauge("watertight.budget.available", "{attempt}", "Extra attempts the budget would grant now."),

		connWait:   b.dist("watertight.http.conn.wait", "wait"),
		connFailed: b.counter("watertight.http.conn.failed", "{checkout}", "Connection checkouts that ended without a connection (ctx ended while queued, dial failed)."),

		sqlMaxOpen: b.gauge("watertight.sql.connections.max_open", "{connection}", "The database pool's limit (0: unlimited)."),
		sqlOpen:    b.gauge("watertight.sql.connections.open", "{connection}", "Connections open."),
		sqlInUse:   b.gauge("watertight.sql.connections.in_use", "{connection}", "Connections checked out now."),
		sqlIdle:    b.gauge("watertight.sql.connections.idle", "{connection}", "Connections open and free."),
		sqlWaits:   b.counter("watertight.sql.waits", "{checkout}", "Checkouts that waited for a connection."),
	}
	sqlWaitTime, err := m.Float64ObservableCounter("watertight.sql.wait.duration.sum", metric.WithUnit("s"), metric.WithDescription("Total time checkouts waited for a connection."))
	b.keep(sqlWaitTime, err)
	in.sqlWaitTime = sqlWaitTime
	in.pool = b.poolInstruments()
	in.jobsRunning = b.gauge("watertight.jobs.running", "{job}", "Jobs of the kind running now (the name attribute is the job kind).")
	in.jobsWorked = b.counter("watertight.jobs.worked", "{job}", "Jobs of the kind that ran through the engine's worker, whatever came of them.")
	in.jobsFailed = b.counter("watertight.jobs.failed", "{job}", "Jobs that ended in an error, left to the engine's own retries.")
	in.jobsSnoozed = b.counter("watertight.jobs.snoozed", "{job}", "Jobs put off, without using up an attempt, because a policy refused them.")
	in.jobsCanceled = b.counter("watertight.jobs.canceled", "{job}", "Jobs cancelled for good: a permanent error.")
	in.jobsRun = b.dist("watertight.jobs.run", "run")
	in.all = b.all
	return in, b.err
}
