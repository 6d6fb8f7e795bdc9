// Package bulkhead caps how many calls to one dependency run at once, and
// how many wait, so that a slow dependency cannot take every goroutine,
// connection or worker of the service.
//
// Give each dependency its own Bulkhead, sized to what that dependency can
// serve: when it slows down, its calls pile up in its own bulkhead and are
// refused there, while calls to other dependencies go on.
//
// # Contract
//
// Do (and Acquire) take a slot if one is free and nobody is queued, without
// locking or reading the clock. Otherwise the caller joins a first-in,
// first-out queue of at most Config.MaxQueue callers and blocks until one
// of these happens:
//
//   - a slot is handed to it: fn runs (Acquire returns);
//   - Config.MaxWait passes: ErrWaitTimeout;
//   - ctx is done: ctx.Err(), unchanged.
//
// If the queue is full (or MaxQueue is 0) the call is refused at once with
// ErrFull. ErrFull and ErrWaitTimeout match watertight.ErrRejected: fn was
// never called. A bulkhead with a Name returns them attributed to it
// (`bulkhead "payments": full`); errors.Is still matches the sentinels.
// In every refusal, timeout and cancellation the caller holds nothing
// afterwards: a slot handed to a caller who gave up at that moment is passed
// on to the next in the queue.
//
// A ctx that is already done when Do or Acquire is called is refused with
// ctx.Err() even if a slot is free, so that no work starts for a caller who
// has gone.
//
// Do releases the slot when fn returns or panics; a panic continues up the
// caller's stack unchanged. The release func from Acquire or TryAcquire must
// be called once; further calls do nothing. TryAcquire never waits.
//
// SetMaxConcurrent changes the limit at run time: growing admits waiters at
// once; shrinking lets calls in flight finish and admits no one until fewer
// than the new limit are in flight.
//
// # CoDel and adaptive LIFO
//
// Config.Queue CoDel serves the queue as "Fail at Scale" (Facebook) does:
// first in, first out while it keeps emptying, a waiter waiting at most
// CoDelInterval (100 ms); once it has gone CoDelInterval without emptying
// by serving its waiters it stands, and every waiter older than
// CoDelTarget (5 ms) is refused with ErrWaitTimeout and counted in
// Stats.Shed — when a slot frees, and also when none does (a hung
// dependency holds every slot): a waiter's timer ends its wait when the
// queue will stand, or at the target if it stands already, so a waiter
// queued before the queue stood is held to the target once it stands.
// A freed slot then goes to the newest waiter. A queue emptied by
// refusals has served no one: it stands on for an interval after its last
// waiter left, so that the next waiter of a hung dependency is refused
// after the target, not after an interval of its own. MaxWait, MaxQueue
// and the caller's ctx still apply. Stats.Controlled says whether the
// queue stands. The uncontended path is unchanged, without a clock read:
// CoDel costs only callers that wait (a timer each, and a clock read per
// hand-off and per waiter that gives up).
//
// Measured in the package's tests (Poisson arrivals at 1.5× what 5 slots of
// 10 ms serve, 30 s, a 1 s deadline, MaxWait 1 s): FIFO served 12% of its
// capacity in time, the served calls waiting up to a second (p99 1.000
// s); CoDel served 99% of it in time with a p99 wait of 46 ms, shedding
// the rest. At 0.8× the load it shed 0.5% (60 of 11,975): the paper's rule
// flips back to FIFO each time the queue empties, and there is no
// hysteresis.
//
// # Adaptive limits
//
// With Config.Limit (adaptive.Gradient or adaptive.AIMD) the limit sets
// itself: it starts at the algorithm's Initial and follows what the Limit
// returns for each finished call, clamped to [1, MaxConcurrent], which
// becomes the ceiling (SetMaxConcurrent then sets the ceiling). Calls
// are timed (two monotonic clock reads) and reported with how many calls
// were in flight when they started. When calls come faster than a limit
// needs (64 timed calls in a row under 100 µs apart), one in 2, 4 … 64 is
// timed, and reported with the weight of all (adaptive.Sample.Calls), so
// that a limit still learns from thousands of samples a second while a
// call costs about 2× a static bulkhead's instead of 6–7×; below 2,500
// timed calls a second it halves back to every call. A drop is reported
// whatever the sampling, with the smoothed latency of the timed calls as
// its own. A call whose caller's ctx is done
// (cancelled, or past its deadline) reports nothing, and one that failed
// with an inner deadline (context.DeadlineExceeded, timeout.ErrExceeded
// while the caller's ctx is live) or an inner refusal
// (watertight.ErrRejected) reports Dropped, a sign of overload. A release
// func from Acquire or TryAcquire reports its call as a success. A lower
// limit lets the calls in flight finish, like SetMaxConcurrent. Stats'
// MaxConcurrent is the limit as it moves, and Config.OnLimitChange hears
// every change, outside the lock, in order.
//
// A Bulkhead must be made by New (or MustNew): a zero Bulkhead refuses
// every call with an error that says so.
//
// # Tests with testing/synctest
//
// A Bulkhead declared at package level may be used by one synctest bubble
// after another: a wait inside a bubble makes its own channel and timer, in
// that bubble, and never passes them on (outside bubbles they are pooled). Bubbles that run at
// the same time (t.Parallel) must not contend for one Bulkhead's queue: a
// slot released in one bubble would have to wake a waiter in another,
// which Go does not allow (the process stops with "send on synctest
// channel from outside bubble"). Give such tests a Bulkhead each.
//
// # Observability
//
// Stats returns gauges (in flight, waiting, the limit), cumulative counters
// (acquired, rejected, timed out, canceled) and the distribution of the wait
// of every granted call in a poolwait.Stats, zero waits included, so that
// its quantiles are honest. A rising wait p99 with the bulkhead at its limit
// names the dependency that is holding the service up.
//
// # Cost
//
// An uncontended Do is one compare-and-swap to take the slot (the grant is
// counted in the same word) and one atomic add to release it: no lock, no
// allocation, no clock read. Once every 64 grants the count is moved out of
// that word under the lock. A caller that waits takes the lock, reuses a
// pooled waiter record (no allocation once warm; in a synctest bubble, a
// new one each time) and reads the clock twice.
// Acquire and TryAcquire allocate their idempotent release func; Do does
// not. Stats takes the lock briefly so that Acquired never goes backwards.
// A Bulkhead is about 2 KB, mostly its wait histogram, and starts no
// goroutine.
package bulkhead
