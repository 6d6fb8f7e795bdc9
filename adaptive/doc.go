// Package adaptive gives a bulkhead a concurrency limit that sets itself:
// it finds the dependency's capacity from the latency its calls see, and
// follows it when the dependency slows down and when it recovers.
//
// A static limit is a guess: too big on a bad day (the dependency drowns
// and latency climbs), too small on a good one (work it could serve is
// refused). Give a bulkhead a Limit and its MaxConcurrent becomes the
// ceiling:
//
//	limit, _ := adaptive.Gradient(adaptive.GradientConfig{})
//	b := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 200, Limit: limit})
//
// The bulkhead reports every finished call as a Sample — when it took its
// slot, how long it held it, how many were in flight, and whether it was
// Dropped (an inner deadline or refusal) — except calls whose caller left,
// which say nothing of the dependency. The algorithms take their sense of
// time from the samples alone and never read the clock, which is also what
// lets the tests drive them in a simulation of exact virtual time.
//
// # Gradient
//
// Gradient is Netflix's Gradient2: each window of about one limit's worth
// of calls, the gradient is Tolerance × the no-load latency over the
// window's mean latency, at most 1, and the new estimate is limit ×
// gradient + QueueSize, at least half the limit, taken in with Smoothing.
// While calls run at the no-load latency the limit grows by the queue;
// once more are let in than the dependency serves at once, they queue
// inside it, latency rises, and the limit shrinks. It settles at about the
// capacity × Tolerance plus QueueSize: with the defaults (1.05, 4, 0.2),
// capacity + 5%, + 4 — also for a capacity of 1 (a limit of 5). Gradient2
// floors the gradient at 0.5, which holds the limit at twice QueueSize or
// more whatever the capacity; here the floor is on one window's drop (at
// most half), not on where the limit can go. Mean latencies under a
// microsecond count as a microsecond: instant calls are no division by
// zero.
//
// Every published limiter of this kind (Netflix's Gradient2, PR #134;
// failsafe-go's adaptivelimiter, #127; Uber's Cinnamon) has one failure:
// its baseline is a long average of the latency, so during a long incident
// it learns the sick latency as normal, the gradient goes back to 1, and
// it stops shedding. Gradient has three guards against it:
//
//   - The no-load latency is measured, not averaged: the limit is halved
//     — at first, and then every ProbeInterval (30 s), give or take 25% at
//     random so that a fleet does not probe in step — and halved again,
//     a window at a time, while halving the calls cuts their mean latency
//     by more than a quarter (they still queue in a dependency whose
//     capacity is below that level); the mean latency of the calls
//     started at the last level is the baseline until the next probe (or
//     until calls run faster still). A dependency of high capacity is
//     probed for one window, as Gradient2 does; one of capacity 1 under a
//     limit of 100, for about seven.
//     Through a 30-minute brownout in which the capacity is a fifth, the
//     probes keep finding the same no-load latency and the limit stays at
//     the reduced capacity; the tests show the published EWMA baseline
//     climbing to the ceiling in the same scenario.
//   - The limit rises only when it held calls back in the window (there
//     was demand for more), and, after a raise, only if the raise raised
//     throughput; when it did not, raises are held for eight windows and
//     then tried again, so that a recovery is found.
//   - MaxHealthyRTT, if set, is an absolute mean latency above which the
//     limit always halves: a dependency that is slow at every load — whose
//     no-load latency itself is sick — is shed to Min.
//
// A Dropped sample in a window caps the new estimate at 90% of the limit.
//
// # AIMD
//
// AIMD is additive increase, multiplicative decrease, as TCP's congestion
// control and Netflix's AIMDLimit: a Dropped call, or one slower than
// Timeout, multiplies the limit by Backoff (0.9), at most once per round
// trip (calls that started before the last decrease do not lower it
// again); every limit's worth of calls that found at least half of it in
// flight and succeeded raises it by one. It needs no latency model, only
// a Timeout a few times the healthy latency (5 s by default, which only
// catches the worst).
//
// # Measured
//
// In the package's simulation — a dependency that serves 40 calls at once
// at 10 ms and queues the rest, offered twice what it serves — Gradient
// settles within ±25% (plus its queue of 4) in 0.4 s, at 45–46, with all
// of the capacity served and a worst p99 of 16 ms; when the capacity falls
// to 10 it follows in 0.4 s, and back to 40 in 2.2 s; through 30 minutes
// at a fifth of the capacity its limit stays at 12–13 (a probe dips to 6).
// AIMD with a Timeout of 15 ms settles at 44 and 12.
//
// # Cost
//
// An adaptive bulkhead reads the clock twice per timed call (about 53 ns on
// the machines this project measures on) and takes the Limit's mutex
// once; it allocates nothing. At a high call rate it times one call in up
// to 64 and reports it with Sample.Calls set to the calls it stands for,
// which both algorithms weigh: a Do then costs about twice a static
// bulkhead's (see the bulkhead package).
package adaptive
