// Package hedge sends a second copy of a call that is slow, and takes
// whichever answers first: it cuts the tail latency of a dependency that
// is healthy on average but slow now and then (a GC pause, one slow
// replica, a cold cache).
//
// "The Tail at Scale" (Dean and Barroso) cut a BigTable read's p99.9 from
// 1,800 ms to 74 ms with 2% more requests by hedging after 10 ms; hedging
// after the p95 costs about 5% more load.
//
// # Hedge or retry
//
// Retry a dependency that fails; hedge one that is slow at the tail. A
// retry waits for an attempt to fail before it sends another, so it
// cannot help a call that is merely slow; a hedge sends another while the
// first still runs, so it doubles the load of every call it hedges. Both
// draw on the dependency's budget.Budget: give them the same one.
//
// # Contract
//
// Do runs fn on the caller's goroutine. If fn has not returned after the
// delay, or failed with a retryable error (IsRetryable: by default retry's
// rules), and the budget allows, Do runs fn again alongside on a new
// goroutine, a delay after the previous hedge, up to MaxHedges times; a
// retryable failure starts the next hedge at once. The first success wins:
// every other attempt's ctx is cancelled. Do returns once the winner has
// returned and the first attempt (on the caller's goroutine) has returned
// from its cancellation — at once for a cooperative fn such as an HTTP or
// database call; put an abandoning timeout inside for one that ignores its
// ctx. Hedges that lose run on, counted in Stats.Running until they
// return, and their results are dropped. If every attempt fails, Do
// returns the first attempt's error; a failure that is not retryable
// starts no hedge, and a first attempt failing so with no hedge running
// returns at once. Each call deposits once in the budget and each hedge
// withdraws; a refusal ends the hedging of that call.
//
// watertight.Call through a Hedge returns the winner's value.
//
// # Panics
//
// A panic on the caller's goroutine (in the first attempt) cancels the
// hedges and goes on up the caller's stack. A panic on a hedge's goroutine
// while the call is undecided is the call's result: Do re-panics it in
// the caller's goroutine as a *PanicError, with the hedge goroutine's
// stack. A panic in a hedge that already lost has no caller left: it is
// logged with slog.Error and its stack, as an abandoned call's is by
// package timeout.
//
// # The adaptive delay
//
// With Delay 0 the delay is the Quantile (by default the p95) of recent
// attempt durations. It is learned from every attempt, the cancelled
// losers included: a loser's duration says only that it would have taken
// at least that long, a censored sample, and the Kaplan–Meier estimator
// counts it as such. An estimator fed only by the winners — failsafe-go's
// — never sees the slow attempts that hedging cuts short, so its quantile
// drifts down, more hedges fire, and hedging feeds on itself; the tests
// show both. The estimate covers the last 1,000 to 2,000 attempts, in
// poolwait's buckets (an eighth of an octave), and is within
// poolwait.QuantileError (6.1%) of a duration in the right bucket; it is
// worked out again every 64 attempts, and takes 3.4 kB per Hedge. Until it
// has seen Warmup (100) attempts, a Hedge hedges only on retryable
// failures.
//
// # Cost
//
// A call that returns before the delay starts no goroutine: Do makes a
// cancellable ctx for the first attempt (one allocation) and arms a timer
// kept with a pooled call record (none once warm; in a synctest bubble a
// new record each call), and reads the clock twice. A hedge costs a
// goroutine, its ctx, and the call record, which is not pooled again.
package hedge
