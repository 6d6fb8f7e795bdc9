// Package watertightriver runs River's jobs under watertight policies, per
// job kind, so that one kind whose endpoint hangs cannot take every River
// worker and starve the others, and so that a refusal does not use up a
// job's attempts.
//
// A Middleware is a River worker middleware (rivertype.WorkerMiddleware):
//
//	webhooks := watertight.Chain(
//		breaker.MustNew(breaker.Config{Name: "post_webhook"}),
//		bulkhead.MustNew(bulkhead.Config{Name: "post_webhook", MaxConcurrent: 2}),
//	)
//	mw, err := watertightriver.New(watertightriver.Config{
//		Kinds: []watertightriver.KindPolicy{{Kind: "post_webhook", Policy: webhooks}},
//	})
//	...
//	client, err := river.NewClient(driver, &river.Config{Middleware: []rivertype.Middleware{mw}, ...})
//	collector.Add(mw) // contrib/prometheus, contrib/otel: watertight_jobs_* per kind
//	dash.Add(mw)      // the dashboard: a card per kind
//
// # What happens to a job
//
// Each job runs its kind's policy around River's work function (the rest
// of the middleware stack and the worker). What the policy returns decides
// what River does next:
//
//   - nil: the job is done.
//   - a refusal (an error matching watertight.ErrRejected: an open breaker,
//     a full bulkhead, a shed queue): the job is snoozed
//     (river.JobSnooze) for the refusal's RetryAfter, or Config.Snooze when
//     it has none, or a hint of zero or less (River snoozes for no less
//     than that: a snooze of 0 would make it runnable at once, and a
//     negative one panics). A snooze does not use up one of the job's
//     attempts: a dependency that is down does not get jobs discarded.
//   - an error marked retry.Permanent by the job: the job is cancelled
//     (river.JobCancel), never retried. The Middleware sees the mark inside
//     the policy's fn, where a retry cannot have removed it.
//   - any other error: returned to River unchanged, which retries the job
//     on its own schedule, using up an attempt.
//
// A retry in a kind's policy runs the job's work again within one River
// attempt; River's own retries, spread over minutes and surviving
// restarts, are usually the better place for that. A hedge would run the
// work twice at once: do not give one to a job that is not idempotent.
//
// Set River's JobTimeout (Config.JobTimeout) to what a job of the slowest
// kind needs: its default, one minute, cancels a job that waits on a
// hanging endpoint, and the cancellation uses up an attempt. A timeout in
// the kind's policy bounds the work first, and the breaker then turns
// further calls into snoozes.
//
// # What is measured
//
// Per kind: the jobs worked, failed (left to River's retries), snoozed by a
// refusal, cancelled, running now, and how long each ran (its policy's
// waits included). A Middleware is a pool.JobKinds: the metric adapters and
// the dashboard read every kind it has seen — those of Config.Kinds from
// the start, others from their first job. Each job runs with a ledger
// (package ledger; one is started when River's ctx has none), in which
// the policies record their waits and refusals and the job its attempt
// under its kind's name; Config.SlowAfter logs a job slower than that with
// where its time went.
//
// It is a module of its own (github.com/watertight-go/watertight/contrib/river),
// so that a service that does not use River downloads none of it.
package watertightriver
