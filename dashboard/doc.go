// Package dashboard is a live page of every watertight instance of a
// process, for the engineer on call: which breaker is open, which
// bulkhead or pool is full, which timeout is cutting calls short, which
// retries are giving up. Mount it like net/http/pprof:
//
//	d, err := dashboard.New(paymentsChain, searchHosts, jobsPool)
//	...
//	mux.Handle("/debug/watertight/", d)
//
// # The page
//
// GET answers with a server-rendered HTML page, complete without
// JavaScript: a summary of the instances that need a look now, worst
// first, then one card per instance, grouped by Config.Name. With
// JavaScript on, the page refreshes itself every second from
// ?format=json, from the same server only, and reloads when instances come
// or go (hosts of an httpguard.Hosts). It loads nothing else: its style
// and script are inline, allowed by hash in its Content-Security-Policy,
// so it works offline and behind any proxy.
//
// A card shows its instance's state in a word ("open", "full",
// "exceeded"), with a symbol, a border style and a colour that all say the
// same, so it reads without colour; its gauges (in flight, limit, queued);
// its rates over the last minute; for the kinds that wait (bulkhead, pool,
// retry, timeout, connection checkouts), the p50 and p99 of the wait over
// the last minute and a chart of each second's; a breaker's latest
// transitions with their reasons; and its cumulative totals.
//
// # Live state and history
//
// Every request reads every instance's Stats then and there: a breaker
// that opened shows as open on the next refresh. For the rates and
// charts, each instance keeps a ring of HistoryLength samples (a few
// kilobytes at most), taken when the page or its JSON is read, at most
// once a second per instance; nothing else runs. Nobody watching costs
// nothing beyond those rings, and the ring of an instance that is gone (a
// host that httpguard.Hosts dropped) is dropped on the next read. Add
// takes a first sample of what it adds, so the first read has rates and
// waits since Add; an instance first found on a read (a new host) has
// none on that read. From then on, rates and waits cover the time since
// the oldest sample of the last minute — or, on the first read after a
// quiet spell with no sample in the last minute, since the newest sample
// before it, with the window's real length in Rates.WindowSeconds: never
// the whole past under a "last minute" label. A window's p99 and each
// chart point are its own waits', not the longest wait ever.
//
// # Slowest requests
//
// "Slowest requests of the last minute" lists the SlowestKept (10)
// slowest requests that finished in the last minute, each with where its
// time went — its ledger's totals by dependency and kind, as a bar and in
// words. Requests come from a Handler with httpguard.WithLedger whose
// LedgerConfig.Sink is the Dashboard (it implements ledger.Sink): Offer
// compares a request with the slowest kept without a lock, and allocates
// only for one it keeps.
//
// A card's Status is "refusing" when its instance turned calls away since
// the newest sample at least a second old (a breaker: while it is open),
// and "warn" when it is full or queueing, cut calls short, gave up, ran
// out of budget, or is probing (a half-open breaker).
//
// # JSON
//
// ?format=json answers with a Snapshot as application/json: snake_case
// keys, states as strings ("closed", "open", "half_open"), durations in
// milliseconds (_ms) or seconds (_s), rates per second. Fields may be
// added; none is renamed or removed. The keys of Card.Totals, by kind:
//
//	breaker     successes failures slow_calls ignored rejected transitions
//	bulkhead    acquired rejected timed_out canceled shed
//	pool        submitted completed rejected canceled expired panicked shed failed timed_out
//	timeout     calls exceeded canceled refused abandoned late_panics
//	retry       calls attempts retries recovered gave_up_attempts gave_up_budget gave_up_deadline gave_up_retry_after
//	hedge       calls hedges hedge_wins refused running
//	budget      deposits withdrawn refused available
//	conn_waits  checkouts reused new failed
//	connection_pool  checkouts waited timeouts canceled failed leaks
//	jobs        worked failed snoozed canceled
//
// A connection pool's card (a poolwait.Pool: database/sql through
// poolwait, pgx, go-redis) also has Card.Pool: the pool's kind, whether
// its Wait has every checkout's wait (pgx) or only their mean is known
// (database/sql, go-redis: Pool.MeanWaitMS), and its open leaks; and
// Card.Hold, its hold times, where measured. A pool holding a connection
// past its leak threshold is "leaking"; one whose checkouts timed out is
// "exhausted"; one with callers waiting, "queueing"; one with every
// connection in use, "full".
//
// # Contract
//
// ServeHTTP never blocks on the instances: reading one is what its Stats
// costs (a bulkhead's is a few atomic loads). It answers GET and HEAD, and
// 405 to anything else; an unknown format is a 400. Every answer is
// marked Cache-Control: no-store. The dashboard shows data about your
// dependencies: mount it where only your engineers can reach it, as you
// would net/http/pprof.
//
// New and Add refuse, with an error, a value they cannot read, a nil
// pointer, and two different instances of one kind with one name (their
// cards would share an ID); the same instance added twice, or found in two
// chains, has one card. An httpguard.Hosts whose factory gives two hosts'
// policies one name shows the first one only: name them by host.
package dashboard
