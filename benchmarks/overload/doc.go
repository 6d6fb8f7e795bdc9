// Package overload reproduces the incidents that static protection and
// naive retries do not survive, and measures every contender on them: a
// retry storm (a load spike that retries turn into a metastable failure),
// a brownout (a dependency that loses three quarters of its capacity for a
// minute) and a heavy tail (2% of calls 20× slower than the median).
//
// The dependency (Dependency) is a queue in front of a number of servers,
// with a service time per call; it fails more of the calls it serves the
// longer its queue, after their full service time, and skips at no cost a
// queued call whose caller has gone. Load is open-loop: requests arrive
// evenly spaced whatever happens to earlier ones, each on its own
// goroutine with its own deadline. Contenders are real code — watertight's
// policies, failsafe-go's, cenkalti/backoff — given the same attempt.
//
// Everything runs on real time.Sleep, timers and contexts, so the same
// code serves two ways: inside a testing/synctest bubble (the tests),
// where time is the bubble's and a 100-second scenario runs in about a
// second, exactly and without a clock read that could flake; and on real
// time, in-process (examples/brownout) or over HTTP on loopback
// (TestOnRealLoopback), where the figures carry a real network stack's
// noise. Arrivals at one instant may be served in either order, and the
// dependency's failures are drawn from a seeded generator in that order,
// so two runs of a scenario differ in a few calls, not in their story.
//
// go test ./overload prints each scenario's table and checks the targets
// of the issue it was built for; with -overload.out DIR it also writes
// each scenario's figures (JSON) and chart (SVG) there, which cmd/report
// turns into BENCHMARKS.md's "Under overload" section.
package overload
