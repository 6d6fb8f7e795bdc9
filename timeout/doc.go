// Package timeout bounds how long a call may take, with a real context
// deadline, and tells our deadline apart from the caller's.
//
// fn always gets a context with a real deadline (context.WithDeadlineCause),
// so the database and HTTP calls inside it see the deadline and pass it on.
// Once our deadline fires, context.Cause(ctx) inside fn is an error
// matching ErrExceeded, a new value for each call, so nested timeouts can
// tell whose deadline fired. If the caller's ctx has an earlier deadline,
// that one applies, and it stays the caller's.
//
// # Two modes
//
// Cooperative (the default): at the deadline Do cancels fn's context and
// waits for fn to return. Pick it whenever fn honours its context — every
// database/sql, net/http and gRPC call does — because nothing keeps running
// after Do returns. Do returns:
//
//   - fn's result, unchanged, if fn returned before either deadline;
//   - if our deadline fired first: an error matching ErrExceeded (and
//     context.DeadlineExceeded) that also wraps fn's error, so both are
//     found by errors.Is; or nil if fn still succeeded (the work is done,
//     late; the call is counted in Exceeded all the same);
//   - if the caller's deadline or cancellation came first: the caller's
//     ctx.Err(), never ErrExceeded (nil if fn still succeeded); the call is
//     counted as Canceled, not Exceeded, so the two can be told apart in
//     metrics.
//
// Abandon (Config.Abandon): Do returns at the deadline even if fn ignores
// its context: ErrExceeded at our deadline, ctx.Err() at the caller's. fn
// runs on in its own goroutine; that goroutine always ends when fn does
// (nobody blocks on its result), is counted in Stats.Abandoned until then,
// and its late result goes to Config.OnLate. A panic in fn before Do
// returned goes up the caller's stack; a panic after, when no caller is
// left, is recovered, counted in Stats.LatePanics and reported to OnLate
// with its stack (without OnLate, logged with slog.Error; LogLate logs
// every late result through a logger of yours). Pick Abandon only
// for calls that cannot be cancelled (a library that takes no context, a
// cgo call), and bound the abandoned work elsewhere — with a bulkhead
// outside the timeout, for example — since each abandoned call holds a
// goroutine and whatever fn holds until fn returns.
//
// # Two timeouts around a retry
//
// An outbound call usually has two: a total one around everything and an
// attempt one around each attempt,
//
//	watertight.Chain(totalTimeout, retry, breaker, bulkhead, attemptTimeout)
//
// The total timeout's deadline is the caller's as far as the attempts are
// concerned: the retry reads it (Remaining) and never starts a wait that
// would end past it, and when it fires the retry stops. The attempt
// timeout's expiry is ours, an ErrExceeded while the caller's ctx is live,
// which a retry counts as a failed attempt and retries.
//
// # Budgets
//
// One request often has one deadline for several calls. Give the request a
// total deadline (an outer Timeout or the server's), give each call its own
// Timeout, and read what is left with Remaining. Config.MinRemaining refuses
// to start a call that cannot finish in what is left: Do returns ErrNoBudget
// (which matches ErrExceeded) without calling fn, instead of starting work
// that will be cut off.
//
// # Other rules
//
// A ctx that is already done is refused with ctx.Err() without calling fn.
// The package-level Do is the cooperative mode without statistics; d <= 0
// is an error there, and fn is not called.
//
// # Cost
//
// A cooperative Do costs what context.WithDeadlineCause costs, plus one
// clock read for Stats.Duration; it allocates no more than
// WithDeadlineCause (the per-call cause is recycled whenever the deadline
// did not fire). Abandon adds one goroutine and a small record per call.
package timeout
