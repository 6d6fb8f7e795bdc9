// Package pool runs work on a fixed set of workers fed by a bounded queue,
// so that background work and fan-out to a slow dependency can never pile
// up without limit, and it measures how long every task waited for a
// worker.
//
// A Pool is both a worker pool (Submit, TrySubmit, Go, Group) and a
// "thread-pool bulkhead": Do runs a call on a worker and waits for it, so
// *Pool is a watertight.Policy.
//
// # Background work that never fails silently
//
// Submit's task returns nothing: it cannot fail, only panic (OnPanic).
// SubmitErr's can: a task that returns an error is a failure, counted in
// Stats.Failed and reported to Config.OnFailure (by default a slog error
// with the pool's name, the error, the attempts, and how long it waited
// and ran). So is one that never ran — its ctx ended while it was queued,
// or a CoDel queue shed it — reported with no attempts. Config.TaskTimeout
// gives every task's ctx a deadline (Stats.TimedOut counts those that ran
// into it), and Config.Policy runs every SubmitErr task under a policy: a
// retry retries it on its worker within the retry's budget, a breaker
// refuses it while the dependency is down; only a task the policy gave up
// on, or refused, is a failure. What counts as a failure, in short: the
// last error of a task that can fail, or the reason it never ran.
//
// A pool is not a job queue. Its queue lives in the process' memory: work
// still queued or running when the process stops, crashes or is
// redeployed is lost. Use a pool for work that may be lost with the
// process (a cache warm-up, a best-effort notification, fan-out within a
// request); work that must survive a restart (an email that must go out,
// a webhook, a payment to settle) belongs to a durable job queue — River
// on PostgreSQL or SQLite, with contrib/river running each job kind under
// its policies, so that one kind whose endpoint hangs cannot take every
// River worker.
//
// # Sizing
//
// Size Workers to what the dependency the tasks call can serve — its
// connection pool, its rate limit — not to your traffic: more workers than
// that only move the queue from the pool into the dependency. Keep
// QueueSize small next to Workers (zero to a few times Workers): a long
// queue turns overload into latency, while a short one turns it into fast
// ErrFull rejections the caller can act on. Stats.Wait shows the price of
// the queue you chose.
//
// # Contract
//
// Submit, Do, Go and Group.Go wait for queue room until their ctx is done
// (ctx.Err()) or the pool is closed (ErrClosed); TrySubmit never waits and
// returns ErrFull instead. ErrFull and ErrClosed match
// watertight.ErrRejected. With QueueSize 0 a task is accepted only by a
// worker that is free at that moment. The queue is first in, first out;
// senders waiting for room are not: room goes to whichever sender gets to
// it first, a waiting one or one just arrived.
//
// A task runs with the ctx it was submitted with. A task whose ctx ended
// while it was queued is never run late: it is skipped and counted as
// Expired, and a Do or Future caller gets ctx.Err(). A Do caller whose ctx
// ends while its task is still queued leaves at once; once the task runs,
// Do waits for it.
//
// A Pool must be made by New (or MustNew): a zero Pool has no workers, and
// every call that would give it work returns an error saying so. A nil
// *Pool given to Go or NewGroup is an error too.
//
// # Tests with testing/synctest
//
// A Pool's workers are goroutines started by New, and they run its tasks.
// In a test that uses a synctest bubble, create the Pool inside the bubble
// and Close it there: the workers are then in the bubble, and the tasks
// run on its fake clock. A Pool created outside the bubble (a package-level
// variable) runs the bubble's tasks outside it, in real time; Submit works,
// but Do, Go and Group cannot: the worker would have to wake the waiting
// goroutine inside the bubble, which Go forbids (the process stops with
// "send on synctest channel from outside bubble"). No library can change
// that; give such tests a Pool of their own.
//
// # CoDel and adaptive LIFO
//
// A first-in, first-out queue in front of an overloaded dependency turns
// overload into latency: every task waits the whole queue, and most of the
// callers time out having waited. Config.Queue CoDel is "Fail at Scale"'s
// answer (Facebook): while the queue keeps emptying, tasks are served first
// in, first out; once it has gone CoDelInterval (100 ms) without emptying
// by serving its tasks it stands, and is served newest first — those
// still likely to be waited for — and a task that has waited more than
// CoDelTarget (5 ms) is shed: it never runs, and its Do, Future or Group
// waiter gets ErrShed (matching watertight.ErrRejected) at once. Tasks are
// shed when a worker takes the next one, and also when no worker does (a
// hung dependency holds every worker): a timer, armed for the oldest
// task's limit, sheds it when the queue stands. A task queued before the
// queue stood is held to the target once it stands, and a queue emptied by
// shedding stands on for an interval, so that the next task of a hung
// dependency is shed after the target, not an interval. Shed tasks are
// counted in Stats.Shed; Stats.Controlled says whether the queue stood
// when it was last looked at. A Submit task has no waiter to tell;
// Stats.Shed counts it, and no callback is needed for it: whoever
// submitted it has moved on, and a log line per shed task would itself be
// load at the worst moment. A SubmitErr task goes to Config.OnFailure:
// its submitter asked to hear of it.
//
// Measured in the package's tests (Poisson arrivals at 1.5× what 5 workers
// of 10 ms serve, 30 s, a 1 s deadline for every caller): FIFO served 12%
// of its capacity in time, its tasks waiting up to 1 s (p99 1.000 s); CoDel
// served 100% of it in time, shedding a third of the offered load, with a
// p99 wait of 47 ms — the paper's 40–60 ms (re-measured with the timer:
// the same to within a task). The paper's rule flips back to
// FIFO each time the queue empties; at 0.8× the load it still shed 0.5% of
// the tasks (60 of 11,975), which hysteresis could avoid; there is none.
//
// With CoDel the queue is a deque under a mutex, held to push or take one
// task, not the lock-free ring: a ring cannot serve newest first. Pick
// CoDel for work that callers wait for (Do, Go) and that loses its value
// with age; keep FIFO for background work that must run in order.
//
// # Panics
//
// Do, Future.Wait and Group.Wait re-panic a task's panic in the waiting
// goroutine, as a *PanicError that holds the original value and the
// worker's stack (its Error method prints both). The exception is
// http.ErrAbortHandler, re-panicked as it is, so that a handler aborting
// its response under a pool policy is not logged by net/http as a crash. A fire-and-forget task
// (Submit, TrySubmit) has no caller: its panic is recovered, counted in
// Stats.Panicked and reported to Config.OnPanic (by default slog.Error
// with the stack; LogPanics sends it to a logger of yours), and the
// worker lives on. A task that calls
// runtime.Goexit ends its worker's goroutine: a new worker takes its place,
// it is counted and reported like a panic, and a Do, Future or Group waiter
// gets an error instead of waiting forever.
//
// # Closing
//
// Close stops the pool taking work: later submissions get ErrClosed, and so
// do callers waiting for queue room. Tasks already queued or running
// finish. Close returns nil when every worker has exited, or ctx.Err() if
// ctx ends first, in which case the workers still finish the queue and
// exit in the background. A Submit racing Close either gets ErrClosed or
// its task runs; it never panics. After Close returns nil no goroutine of
// the pool remains.
//
// # Observability
//
// Stats has gauges (busy workers, queued tasks), cumulative counters
// (submitted, completed, rejected, canceled, expired, panicked), the queue
// wait of every accepted task in Wait, and the run time of every task in
// Run. Wait rising while Busy == Workers means the dependency behind the
// pool is slower than the load it is given.
//
// # Cost
//
// Submit and TrySubmit allocate nothing: a task is queued by value. Do
// reuses a pooled call record. Go allocates its Future.
//
// The queue takes no lock: a sender and a worker each claim a place with
// one compare-and-swap on a counter of their own and meet only at the
// task's slot, where a channel or a mutex would have them take the same
// lock twice per task. An idle worker is woken only when it is needed.
// Recording the queue wait reads the monotonic clock when a task is
// queued and when a worker takes it; a worker that takes the next task as
// soon as it finished one uses that task's end for the next one's start,
// so under load the clock is read twice per task in all. Workers record
// into up to eight pairs of histograms (3.4 kB a pair), not one, so that
// workers on different cores seldom write the same counters. Fields that
// submitters write and fields that workers write sit on separate cache
// lines, and each worker marks itself busy on a line of its own. The
// workers are the pool's only goroutines.
package pool
