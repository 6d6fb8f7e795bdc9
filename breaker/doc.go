// Package breaker is a circuit breaker: it stops calling a dependency that
// is failing or slow, so that callers get a fast refusal instead of
// joining the pile-up, and it lets a few probes through now and then to
// find out when the dependency is back.
//
// # State machine
//
//	         failure rate or slow-call rate           open period ends
//	         reached over >= MinCalls calls           (OpenBackoff)
//	CLOSED ─────────────────────────────────▶ OPEN ─────────────────▶ HALF-OPEN
//	  ▲                                        ▲                          │
//	  │                                        │ probes failed or slow,   │
//	  │                                        │ or not all reported      │
//	  │                                        │ within HalfOpenTimeout   │
//	  │                                        └──────────────────────────┤
//	  │              all HalfOpenCalls probes passed                      │
//	  └───────────────────────────────────────────────────────────────────┘
//
// Closed lets every call through and keeps a window of recent calls:
// the last WindowCalls calls, or the calls of the last Window (in 10
// buckets, so calls leave it a tenth of Window at a time). Once the window
// holds at least MinCalls calls and the share that failed reaches
// FailureRate, or (with SlowCall set) the share that took SlowCall or more
// reaches SlowCallRate, the breaker opens.
//
// Open refuses every call with an *OpenError that carries RetryAfter, for
// an open period that OpenBackoff decides: reset when the circuit opens
// from closed, the next step each time a half-open fails (with the
// default, a longer one, until it reaches 4 to 5 min).
//
// Half-open lets HalfOpenCalls probes through and refuses the rest with
// ErrHalfOpenFull. When every probe has reported, the breaker closes (with
// an empty window) if the probes' failure and slow rates are under the
// thresholds, and opens again otherwise. It never sticks: probes that have
// not reported within HalfOpenTimeout of the first one (a done never
// called, a call abandoned by a timeout) no longer hold their slots, and
// the breaker opens again. A probe that panics is a failure; a probe that
// counts neither way (see below) frees its slot for another.
//
// # Defaults, and why
//
// The zero Config is a working breaker: a 10 s time window, 50% failure
// rate, at least 20 calls (so one failure out of one call never opens the
// circuit), 5 probes (so one lucky call does not close it), and open
// periods from 5 s growing by half with each failed half-open, each
// lengthened by up to a quarter at random (so that a fleet of clients does
// not probe a recovering dependency in lockstep, and no period is shorter
// than 5 s or than the one before), to between 4 and 5 min.
//
// # What counts as a failure
//
// A call fails when its error is not nil, with two exceptions that say
// nothing about the dependency and count neither way: an error matching
// watertight.ErrRejected (an inner policy refused, so the dependency was
// never called), and context.Canceled while the caller's own ctx is
// canceled (the caller went away). A deadline expiry is a failure: a
// dependency that makes its callers time out is failing. IsIgnored replaces
// the two exceptions; IsFailure decides the rest. Allow's done has no ctx,
// so there any context.Canceled counts neither way. A panic in Do's fn is
// a failure, and goes on up the caller's stack.
//
// # Contract
//
// Do and Allow never block: they let the call through or refuse it at
// once, with an *OpenError (matching ErrOpen) or ErrHalfOpenFull, both
// matching watertight.ErrRejected. fn's own error is returned unchanged.
// Do never reads ctx except to classify a context.Canceled; pair the
// breaker with a timeout to bound the call.
//
// State changes are worked out lazily from the clock on each call, State
// and Stats; there are no goroutines and no timers, so a thousand breakers
// cost only their memory. Every transition starts a new period, and a call
// records its result in the period that let it through: a result from an
// earlier period is ignored. A done called twice counts once.
//
// OnStateChange is called after the breaker's lock is released, in the
// order the transitions happened (one goroutine delivers at a time, so a
// transition made meanwhile is delivered after the current one), and may
// call State, Stats and Reset. LogStateChanges makes one that logs each
// transition through a *slog.Logger; a breaker logs nothing by itself.
//
// # Combining with timeout, retry and bulkhead
//
// The recommended order for an outbound call is
//
//	watertight.Chain(totalTimeout, retry, breaker, bulkhead, attemptTimeout)
//
// The breaker sits outside the bulkhead so that a full bulkhead counts
// neither way, and outside the attempt timeout so that an attempt that
// timed out counts as a failure; the total timeout covers everything. It
// sits inside the retry so that every attempt is counted, and so that its
// refusal (an *OpenError, which matches watertight.ErrRejected) stops the
// retries at once instead of adding load to a dependency that is down.
//
// # Cost
//
// In the closed state with a count window and no SlowCall, Do reads no
// clock, takes no lock and allocates nothing: an atomic load to admit the
// call, and an atomic add to record it. While the window is full of
// successes, another success changes nothing in it, so Do writes nothing
// shared but a count kept on one of eight cache lines picked at random;
// calls on different cores then seldom touch the same line. A time window
// or SlowCall adds one or two reads of the monotonic clock. An open
// breaker must read the clock to know whether its open period is over
// (there is no timer to tell it), so a refusal costs about one clock read
// more than a successful call through a closed count window; it refuses
// with an error shared by all refusals of the same second. Allow allocates
// its done func; Do does not. Transitions take a mutex and allocate the
// new period.
package breaker
