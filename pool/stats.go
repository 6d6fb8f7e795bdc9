package pool

import "github.com/watertight-go/watertight/poolwait"

// Stats is a snapshot of a Pool's gauges and cumulative counters. Once the
// pool is idle, Submitted == Completed + Expired + Shed + Panicked.
type Stats struct {
	Workers   int // Config.Workers
	Busy      int // workers running a task now
	Queued    int // tasks waiting for a worker now
	QueueSize int // Config.QueueSize

	Submitted uint64 // tasks accepted into the queue (Submit, TrySubmit, Do, Go, Group)
	Completed uint64 // tasks that ran and returned
	Rejected  uint64 // ErrFull and ErrClosed
	Canceled  uint64 // callers whose ctx ended before their task was accepted
	Expired   uint64 // accepted tasks skipped because their ctx ended (or their Do caller left) while queued
	Panicked  uint64 // tasks that panicked or called runtime.Goexit
	Shed      uint64 // tasks a CoDel queue shed, never run (not in Wait)
	// Failed counts the fire-and-forget tasks that can fail (SubmitErr,
	// TrySubmitErr) that ran and returned an error, after Config.Policy
	// gave up on them: a part of Completed. Those that never ran are in
	// Expired or Shed; every one of them went to Config.OnFailure.
	Failed uint64
	// TimedOut counts the tasks that returned after Config.TaskTimeout
	// ended their ctx: a part of Completed.
	TimedOut uint64

	// Controlled reports whether a CoDel queue stood (serving newest first,
	// holding tasks to the target) when a worker last looked at it; a
	// worker that finds it empty clears it.
	Controlled bool

	Wait poolwait.Stats // how long each task taken from the queue waited there, skipped ones included
	Run  poolwait.Stats // how long each task that ran took
}

// Stats returns a snapshot. It takes no lock and allocates nothing.
func (p *Pool) Stats() Stats {
	if p == nil {
		return Stats{}
	}
	if p.queue == nil {
		return Stats{} // a zero Pool
	}
	st := Stats{
		Workers:   len(p.slots),
		Queued:    p.queueLen(),
		QueueSize: p.queueCap(),
		Submitted: p.submitted.Load(),
		Rejected:  p.rejected.Load(),
		Canceled:  p.canceled.Load(),
		Expired:   p.expired.Load(),
		Panicked:  p.panicked.Load(),
		Shed:      p.shed.Load(),
		Failed:    p.failed.Load(),
		TimedOut:  p.timedOut.Load(),
	}
	if p.codel != nil {
		st.Controlled = p.codel.standing.Load()
	}
	for i := range p.histograms {
		add(&st.Wait, p.histograms[i].wait.Stats())
		add(&st.Run, p.histograms[i].run.Stats())
	}
	for i := range p.slots {
		if p.slots[i].busy.Load() {
			st.Busy++
		}
	}
	// Every task that ran is in Run, once: those that did not panic completed.
	st.Completed = st.Run.Count - min(st.Run.Count, st.Panicked)
	return st
}

// add adds the waits of b to a.
func add(a *poolwait.Stats, b poolwait.Stats) {
	a.Count += b.Count
	a.Total += b.Total
	a.Max = max(a.Max, b.Max)
	for i := range a.Buckets {
		a.Buckets[i] += b.Buckets[i]
	}
}
