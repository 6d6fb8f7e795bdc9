// Package watertight keeps one slow or failing dependency from sinking a
// whole Go service.
//
// The incident it exists for: every endpoint of an API hangs because one
// dependency became slow. Slow calls hold a shared, bounded resource — a
// database/sql pool, an http.Transport's connections to a host, a worker
// pool — so healthy requests queue behind them; or nothing is bounded and
// goroutines pile up until memory runs out. CPU looks idle, latency climbs,
// and nothing is in the logs.
//
// Watertight's answer is a set of small packages, each with one job, that
// wrap outbound calls:
//
//   - bulkhead: caps how many calls may be in flight, and waiting, for one
//     dependency, so it cannot take every goroutine or connection.
//   - timeout: bounds every wait with a real context deadline, and tells
//     our deadline apart from the caller's.
//   - breaker: stops calling a dependency that fails or is slow, and
//     probes now and then to find out when it is back.
//   - retry: runs a failed call again, within a budget (package budget)
//     shared by every caller of the dependency and within the caller's
//     deadline, so that retries cannot become a retry storm.
//   - hedge: sends a second copy of a call that is slower than usual and
//     takes the first answer, within the same budget, to cut tail latency.
//   - pool: runs background work and fan-out on a fixed set of workers
//     with a bounded queue; its Do makes it a "thread-pool bulkhead".
//   - poolwait: measures every wait (for a slot, a worker, a database
//     connection) so the pool that is exhausted shows up before users feel it.
//   - httpguard: puts policies on the requests a service serves (503 and
//     504 for refusals and deadlines) and sends (per destination host).
//   - dashboard: a live /debug/watertight/ page of all of them, for the
//     engineer on call: which breaker is open, which bulkhead is full.
//
// Every protection is a Policy. Policies compose with Chain; the
// recommended order for an outbound call is
//
//	watertight.Chain(totalTimeout, retry, breaker, bulkhead, attemptTimeout)
//
// The total timeout is outermost so that the deadline covers every attempt,
// every wait between them and every wait for a bulkhead slot; the retry
// reads it and never starts a wait that would end past it. Each attempt
// passes the breaker, whose refusal ("not now") stops the retries at once,
// and the bulkhead; the breaker sits outside the bulkhead so that a
// bulkhead rejection (the dependency was never called) counts as neither a
// success nor a failure. The attempt timeout is innermost so that it bounds
// one attempt, and its expiry is retried. Call returns the value of the
// attempt that succeeded. A hedge takes the retry's place when the problem
// is tail latency rather than errors.
//
// Every error returned by a policy that refused to run fn matches
// ErrRejected; a server maps it to 503 Service Unavailable, with RetryAfter
// as the Retry-After header when the policy knows it.
package watertight
