package pool

import "github.com/watertight-go/watertight/poolwait"

// JobKind is one kind of background job that a job queue runs, not a
// Pool: contrib/river's job kinds are JobKinds. The metric adapters and
// the dashboard read it, so that a job engine added by a contrib module
// needs nothing of them.
type JobKind interface {
	// JobKind names the kind ("send_email"): in metrics, on the
	// dashboard. Two kinds of one engine must not share a name.
	JobKind() string
	// JobStats returns a snapshot. It is called on every scrape and every
	// read of the dashboard: it must be cheap.
	JobStats() JobStats
}

// JobStats is a snapshot of one kind of background job.
type JobStats struct {
	Engine  string // what runs the jobs: "river"
	Running int    // jobs of the kind running now

	Worked   uint64 // jobs that ran through the engine's worker, whatever came of them
	Failed   uint64 // jobs that ended in an error, left to the engine's own retries
	Snoozed  uint64 // jobs put off, without using up an attempt, because a policy refused them
	Canceled uint64 // jobs cancelled for good: a permanent error

	Run poolwait.Stats // how long each job ran, its policy's waits and retries included
}

// JobKinds is a set of job kinds read as one value (contrib/river's
// Middleware): the metric adapters and the dashboard read each of its
// kinds, those that appear later included.
type JobKinds interface {
	JobKinds() []JobKind
}
