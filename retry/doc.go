// Package retry runs a failed call again — within a budget, a number of
// attempts and the caller's deadline — so that retries cannot turn a slow
// dependency into an outage.
//
// A plain retry loop multiplies the load on a dependency exactly when it
// is failing: three attempts per request triple it, and three layers that
// each retry three times send 27 calls for one request. A Retry draws
// every retry from a budget.Budget shared by every caller of the
// dependency (by default 20% of the calls plus 10 retries a second, over
// 10 s: Finagle's and Linkerd's), so that a dependency that fails
// everything gets at most 1.2× its load, not 3×; and it never waits past
// the caller's deadline, so that a request with 100 ms left is not held
// for a 1 s backoff.
//
// # Where it goes
//
// Outermost but for the total timeout:
//
//	watertight.Chain(totalTimeout, retry, breaker, bulkhead, attemptTimeout)
//
// The total timeout's deadline covers every attempt and every wait, and
// Retry reads it to decide whether a wait is worth starting. Each attempt
// passes the breaker, whose refusal (the dependency is down: "not now")
// stops the retries at once, and the bulkhead, whose refusal is not
// retried either. The attempt timeout bounds one attempt, and its expiry
// is retried.
//
// # Which errors are retried
//
// By default an error is retried unless it is nil, matches
// watertight.ErrRejected (a policy inside refused: retrying adds load,
// and an open breaker means "not now"), was marked Permanent, or the
// caller's own ctx is done (the caller left, or its deadline passed). An
// inner attempt timeout — timeout.ErrExceeded while the caller's ctx is
// live — is retried. A panic is not retried: it goes on up the caller's
// stack. Config.IsRetryable replaces the rules about errors; a Permanent
// error, a done ctx and a panic stop the retries whatever it says. An
// error whose watertight.RetryAfter hint is negative (gRPC's "do not
// retry" pushback) is not retried.
//
// # What Do returns
//
// Nil on the first success. An error that is not retryable comes back
// unchanged (a Permanent one unwrapped, if it is the Permanent itself), and
// so does the caller's own cancellation or deadline during an attempt.
// When a retryable error is not retried to success — MaxAttempts 1
// included — Do returns an *Error with the last attempt's error, the
// number of attempts and the Reason: ReasonAttempts (MaxAttempts made, or
// the BackOff said stop), ReasonBudget (the budget refused),
// ReasonDeadline (no time left for the wait, or the ctx ended during it)
// or ReasonRetryAfter (the error's hint asked for a longer wait than
// MaxDelay or the time left). errors.Is finds both the last error and the
// reason's sentinel (ErrAttempts, ErrBudget, ErrDeadline, ErrRetryAfter). A refusal by the budget or the
// deadline never discards the last error, and a ctx that ends during a
// wait returns at once with it, not a bare ctx.Err().
//
// # Waits
//
// Between attempts Do waits the BackOff's next delay (by default
// exponential from 50 ms, ×2, to 5 s, with full jitter), or, when the
// error carries a hint (watertight.RetryAfter: a 429's or 503's
// Retry-After through httpguard, an open breaker's time left), that hint
// plus up to 10% at random, so that a fleet told to come back in 30 s does
// not come back in the same millisecond; either is capped at MaxDelay. A
// hint longer than MaxDelay, or than the time left before the ctx's
// deadline, ends the retries at once with ReasonRetryAfter: an attempt
// sooner than the dependency asked would only be refused again. Do never
// starts a wait that would end past the ctx's deadline: it returns at
// once, with ReasonDeadline.
//
// # Budget
//
// Each call deposits once in the budget; each retry withdraws one, or Do
// returns with ReasonBudget. A retry is decided (and OnRetry called) only
// once the attempts, the deadline and the budget all allow it.
//
// # Cost
//
// A call whose first attempt succeeds takes no lock, allocates nothing
// and does not read the clock: a deposit (see budget) and one count on a
// striped counter. The BackOff is made only when a first backoff wait is
// due, and one timer per call that waits; an *Error is allocated for a
// call that gives up.
package retry
