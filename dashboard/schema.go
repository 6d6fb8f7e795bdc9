package dashboard

import "time"

// Snapshot is the JSON document that ServeHTTP answers ?format=json with,
// and what the HTML page shows. Its field names are stable: fields may be
// added, none renamed or removed.
type Snapshot struct {
	// GeneratedAt is when the snapshot was read.
	GeneratedAt time.Time `json:"generated_at"`
	// Summary lists the cards whose Status is not "ok", worst first:
	// "refusing" before "warn", then by rejections per second.
	Summary []Trouble `json:"summary"`
	// Groups holds every card, grouped by dependency name (Config.Name),
	// sorted by name; within a group, cards are in the order they were
	// added, a chain's policies outermost first.
	Groups []Group `json:"groups"`
	// Slowest are the slowest requests that finished in the last minute,
	// slowest first, at most SlowestKept, each with where its time went:
	// those a Handler with httpguard.WithLedger offered to the dashboard
	// (LedgerConfig.Sink). Empty when none was offered.
	Slowest []SlowRequest `json:"slowest"`
}

// SlowRequest is one of the slowest requests of the last minute.
type SlowRequest struct {
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Status    int       `json:"status"`
	At        time.Time `json:"at"` // when it finished
	ElapsedMS float64   `json:"elapsed_ms"`
	// Parts is its breakdown: its ledger's totals, by dependency name and
	// kind, in the order they first came. They may add up to more than
	// the request's time (a wait inside an attempt is in both) or less
	// (time in the handler's own code).
	Parts []Part `json:"parts"`
}

// Part is one total of a request's ledger.
type Part struct {
	Name  string  `json:"name"`
	Kind  string  `json:"kind"` // "wait", "attempt", "backoff", "refused", "expired" or "other"
	MS    float64 `json:"ms"`
	Count int     `json:"count"`
	NotOK int     `json:"not_ok"` // entries that did not go as meant
}

// Trouble is one line of the summary: a card that needs a look.
type Trouble struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Status string `json:"status"`
	State  string `json:"state"`
	Detail string `json:"detail"`
}

// Group is the cards of one dependency name.
type Group struct {
	Name  string `json:"name"`
	Cards []Card `json:"cards"`
}

// Card is one instance: its live state, its rates over the last minute,
// its cumulative totals and its waits.
type Card struct {
	// ID is Kind + "/" + Name: unique within a snapshot.
	ID string `json:"id"`
	// Kind is "breaker", "bulkhead", "pool", "timeout", "retry", "hedge",
	// "budget", "conn_waits" (an HTTP transport's connection checkouts,
	// one card per host, named by the host), "connection_pool" (a
	// poolwait.Pool: database/sql, pgx, go-redis) or "jobs" (a kind of
	// background job, named by the kind: contrib/river's).
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Status is "ok", "warn" (full, queueing, cutting calls short, giving
	// up, probing) or "refusing" (turning calls away now).
	Status string `json:"status"`
	// State is one word for what the instance is doing now: a breaker's
	// "closed", "open" or "half_open"; otherwise "ok", "full", "queueing",
	// "refusing", "exceeded", "giving_up", "exhausted", "failing" or (a
	// connection pool holding connections past its leak threshold)
	// "leaking".
	State string `json:"state"`
	// Detail says the same in a few words for people ("4.2 s left of 5 s");
	// do not parse it.
	Detail string `json:"detail"`

	// The gauges, for the kinds that have them (bulkhead and pool: calls
	// running now, the limit, callers queued, and a pool's queue size; a
	// connection pool: connections in use, its limit if it has one, and
	// callers waiting for a connection if it tells).
	InFlight   *int `json:"in_flight,omitempty"`
	Limit      *int `json:"limit,omitempty"`
	Queued     *int `json:"queued,omitempty"`
	QueueLimit *int `json:"queue_limit,omitempty"`

	Rates Rates `json:"rates"`
	// Totals are the instance's cumulative counters since it was created,
	// by name (see the package doc for each kind's keys).
	Totals map[string]uint64 `json:"totals"`
	// Wait is the instance's wait or duration histogram over the last
	// minute, for the kinds that have one.
	Wait *Wait `json:"wait,omitempty"`
	// Transitions are a breaker's latest state changes, oldest first.
	Transitions []Transition `json:"transitions,omitempty"`
	// Hold is a connection pool's hold times (checkout to return) over
	// the window, where the pool measures them; it has no Points.
	Hold *Wait `json:"hold,omitempty"`
	// Pool is what a connection pool's card has beside the gauges.
	Pool *PoolCard `json:"pool,omitempty"`
}

// PoolCard is the part of a card that only a connection pool has.
type PoolCard struct {
	// Kind is the pool's kind: "database/sql", "pgx", "redis".
	Kind string `json:"kind"`
	// WaitMeasured says that the card's Wait has every checkout's wait.
	// When false (database/sql, go-redis tell only a count and a total),
	// the card has no Wait, and MeanWaitMS is all there is.
	WaitMeasured bool `json:"wait_measured"`
	// MeanWaitMS is the mean wait of the checkouts that waited, by the
	// pool's own count, over the Rates' window; 0 when none waited.
	MeanWaitMS float64 `json:"mean_wait_ms"`
	// OpenLeaks is how many connections are held past the pool's leak
	// threshold now.
	OpenLeaks int `json:"open_leaks"`
}

// Rates are per-second rates over the last WindowSeconds: from the oldest
// sample of the last minute to now, or, when no sample is that recent,
// from the newest one before now (WindowSeconds is then over 60). When
// there is no sample before now (an instance first found on this read),
// WindowSeconds and every rate are 0.
type Rates struct {
	WindowSeconds float64 `json:"window_s"`
	Calls         float64 `json:"calls"`    // calls made (for a budget: requests deposited)
	Failures      float64 `json:"failures"` // calls that failed (breaker), gave up (retry), or found no connection (conn_waits)
	Rejected      float64 `json:"rejected"` // calls turned away (for retry budgets and hedges: extra attempts refused)
	Timeouts      float64 `json:"timeouts"` // calls a deadline ended: a timeout's, a bulkhead's MaxWait, a pool task that expired
	Retries       float64 `json:"retries"`  // extra attempts: retries, hedges, budget withdrawals
}

// Wait describes a wait or duration histogram.
type Wait struct {
	// What it measures: "wait for a slot", "wait for a worker", "call
	// duration", "wait between attempts" or "wait for a connection".
	What string `json:"what"`
	// Count, P50MS and P99MS cover the waits of Rates' window; when it has
	// none (WindowSeconds 0), everything since the instance was created.
	Count uint64  `json:"count"`
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	// Points are the p50 and p99 of each sampled interval of the window
	// that had waits, oldest first.
	Points []Point `json:"points"`
}

// Point is one sampled interval of a Wait.
type Point struct {
	AgeSeconds float64 `json:"age_s"` // how long before GeneratedAt the interval ended
	P50MS      float64 `json:"p50_ms"`
	P99MS      float64 `json:"p99_ms"`
}

// Transition is one state change of a breaker.
type Transition struct {
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	// OpenPeriodSeconds is how long the breaker stays open, when To is "open".
	OpenPeriodSeconds float64 `json:"open_period_s,omitempty"`
}
