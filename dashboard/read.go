package dashboard

import (
	"fmt"
	"time"

	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/internal/instances"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// reading is one instance read live: its card without the parts that
// need its history, the counters behind the rates, its wait, and how to
// judge its state once the recent counts are known.
type reading struct {
	key     any // what its history is kept under
	card    Card
	c       counters
	hasWait bool
	wait    poolwait.Stats
	hasHold bool // a connection pool's holds, where measured
	hold    poolwait.Stats
	// judge sets the card's Status, State and Detail from the counts of
	// the last secs seconds (secs is 0 when there is no earlier sample).
	judge func(card *Card, recent counters, secs float64)
}

// connHost is the history key of one host of a *poolwait.ConnWaits.
type connHost struct {
	c    *poolwait.ConnWaits
	host string
}

// readAll reads every instance among sources once (the rules of the
// metric adapters: chains and hosts walked, one kind and name once), and
// hands each reading to use. A reading holds whole wait histograms: it is
// used at once rather than kept.
func readAll(sources []any, use func(*reading)) {
	instances.Visit(sources, func(v any, _ instances.Seen) {
		switch v := v.(type) {
		case *poolwait.ConnWaits:
			for _, h := range v.Stats() {
				r := readConnWaits(connHost{v, h.Host}, h)
				use(&r)
			}
		case poolwait.Pool:
			r := readConnPool(v)
			use(&r)
		case pool.JobKind:
			r := readJobKind(v)
			use(&r)
		default:
			if r, ok := read(v); ok {
				use(&r)
			}
		}
	})
}

func read(v any) (reading, bool) {
	switch v := v.(type) {
	case *breaker.Breaker:
		return readBreaker(v), true
	case *bulkhead.Bulkhead:
		return readBulkhead(v), true
	case *pool.Pool:
		return readPool(v), true
	case *timeout.Timeout:
		return readTimeout(v), true
	case *retry.Retry:
		return readRetry(v), true
	case *hedge.Hedge:
		return readHedge(v), true
	case *budget.Budget:
		return readBudget(v), true
	}
	return reading{}, false // a chain or a set of hosts: Visit walks into it
}

func newCard(kind, name string) Card {
	return Card{ID: kind + "/" + name, Kind: kind, Name: name, Status: "ok", State: "ok"}
}

func ptr(n int) *int { return &n }

func readBreaker(b *breaker.Breaker) reading {
	st := b.Stats()
	card := newCard("breaker", b.Name())
	card.Totals = map[string]uint64{
		"successes": st.Successes, "failures": st.Failures, "slow_calls": st.SlowCalls,
		"ignored": st.Ignored, "rejected": st.Rejected, "transitions": st.Transitions,
	}
	for _, t := range b.LastTransitions() {
		tr := Transition{At: t.At, From: instances.StateLabel(t.From), To: instances.StateLabel(t.To), Reason: string(t.Reason)}
		if t.To == breaker.Open {
			tr.OpenPeriodSeconds = t.OpenPeriod.Seconds()
		}
		card.Transitions = append(card.Transitions, tr)
	}
	return reading{
		key: b, card: card,
		c: counters{calls: st.Successes + st.Failures + st.Ignored + st.Rejected, failures: st.Failures, rejected: st.Rejected},
		judge: func(card *Card, recent counters, secs float64) {
			card.State = instances.StateLabel(st.State)
			switch st.State {
			case breaker.Open:
				card.Status = "refusing"
				card.Detail = fmt.Sprintf("%s left of %s", seconds(st.OpenLeft), seconds(st.OpenPeriod))
			case breaker.HalfOpen:
				card.Status = "warn"
				card.Detail = fmt.Sprintf("%d probes out", st.HalfOpenProbes)
			default:
				if st.FailureRate >= 0 {
					card.Detail = fmt.Sprintf("%.0f%% of %d calls failed", 100*st.FailureRate, st.WindowCalls)
				} else {
					card.Detail = fmt.Sprintf("%d calls in the window", st.WindowCalls)
				}
			}
		},
	}
}

func readBulkhead(b *bulkhead.Bulkhead) reading {
	st := b.Stats()
	card := newCard("bulkhead", b.Name())
	card.InFlight, card.Limit, card.Queued = ptr(st.InFlight), ptr(st.MaxConcurrent), ptr(st.Waiting)
	card.Totals = map[string]uint64{
		"acquired": st.Acquired, "rejected": st.Rejected, "timed_out": st.TimedOut,
		"canceled": st.Canceled, "shed": st.Shed,
	}
	refused := st.Rejected + st.TimedOut + st.Shed
	return reading{
		key: b, card: card, hasWait: true, wait: st.Wait,
		c: counters{calls: st.Acquired + refused + st.Canceled, rejected: refused, timeouts: st.TimedOut + st.Shed},
		judge: func(card *Card, recent counters, secs float64) {
			switch {
			case recent.rejected > 0:
				card.Status, card.State = "refusing", "refusing"
				card.Detail = fmt.Sprintf("%d turned away in %s", recent.rejected, secondsF(secs))
			case st.InFlight >= st.MaxConcurrent && st.Waiting > 0:
				card.Status, card.State = "warn", "queueing"
				card.Detail = fmt.Sprintf("every slot taken, %d waiting", st.Waiting)
			case st.InFlight >= st.MaxConcurrent:
				card.Status, card.State = "warn", "full"
				card.Detail = "every slot taken"
			default:
				card.Detail = fmt.Sprintf("%d of %d slots free", st.MaxConcurrent-st.InFlight, st.MaxConcurrent)
			}
			if st.Controlled {
				card.Detail += "; CoDel queue standing"
			}
		},
	}
}

func readPool(p *pool.Pool) reading {
	st := p.Stats()
	card := newCard("pool", p.Name())
	card.InFlight, card.Limit, card.Queued, card.QueueLimit = ptr(st.Busy), ptr(st.Workers), ptr(st.Queued), ptr(st.QueueSize)
	card.Totals = map[string]uint64{
		"submitted": st.Submitted, "completed": st.Completed, "rejected": st.Rejected, "canceled": st.Canceled,
		"expired": st.Expired, "panicked": st.Panicked, "shed": st.Shed, "failed": st.Failed, "timed_out": st.TimedOut,
	}
	return reading{
		key: p, card: card, hasWait: true, wait: st.Wait,
		c: counters{calls: st.Submitted + st.Rejected + st.Canceled, failures: st.Panicked + st.Failed, rejected: st.Rejected + st.Shed, timeouts: st.Expired + st.TimedOut},
		judge: func(card *Card, recent counters, secs float64) {
			switch {
			case recent.rejected > 0:
				card.Status, card.State = "refusing", "refusing"
				card.Detail = fmt.Sprintf("%d turned away in %s", recent.rejected, secondsF(secs))
			case recent.failures > 0:
				card.Status, card.State = "warn", "failing"
				card.Detail = fmt.Sprintf("%d tasks failed or panicked in %s", recent.failures, secondsF(secs))
			case st.Busy >= st.Workers && st.Queued > 0:
				card.Status, card.State = "warn", "queueing"
				card.Detail = fmt.Sprintf("every worker busy, %d of %d queued", st.Queued, st.QueueSize)
			case st.Busy >= st.Workers:
				card.Status, card.State = "warn", "full"
				card.Detail = "every worker busy"
			default:
				card.Detail = fmt.Sprintf("%d of %d workers free", st.Workers-st.Busy, st.Workers)
			}
		},
	}
}

func readTimeout(t *timeout.Timeout) reading {
	st := t.Stats()
	card := newCard("timeout", t.Name())
	card.Totals = map[string]uint64{
		"calls": st.Calls, "exceeded": st.Exceeded, "canceled": st.Canceled, "refused": st.Refused,
		"abandoned": uint64(max(st.Abandoned, 0)), "late_panics": st.LatePanics,
	}
	return reading{
		key: t, card: card, hasWait: true, wait: st.Duration,
		c: counters{calls: st.Calls + st.Refused, rejected: st.Refused, timeouts: st.Exceeded},
		judge: func(card *Card, recent counters, secs float64) {
			switch {
			case recent.rejected > 0:
				card.Status, card.State = "refusing", "refusing"
				card.Detail = fmt.Sprintf("%d refused in %s: too little time left", recent.rejected, secondsF(secs))
			case recent.timeouts > 0:
				card.Status, card.State = "warn", "exceeded"
				card.Detail = fmt.Sprintf("%d calls cut short in %s", recent.timeouts, secondsF(secs))
			default:
				card.Detail = fmt.Sprintf("%d exceeded in all", st.Exceeded)
			}
			if st.Abandoned > 0 {
				card.Detail += fmt.Sprintf("; %d abandoned still running", st.Abandoned)
			}
		},
	}
}

func readRetry(r *retry.Retry) reading {
	st := r.Stats()
	card := newCard("retry", r.Name())
	card.Totals = map[string]uint64{
		"calls": st.Calls, "attempts": st.Attempts, "retries": st.Retries, "recovered": st.Recovered,
		"gave_up_attempts": st.GaveUp.Attempts, "gave_up_budget": st.GaveUp.Budget, "gave_up_deadline": st.GaveUp.Deadline, "gave_up_retry_after": st.GaveUp.RetryAfter,
	}
	gaveUp := st.GaveUp.Attempts + st.GaveUp.Budget + st.GaveUp.Deadline + st.GaveUp.RetryAfter
	return reading{
		key: r, card: card, hasWait: true, wait: st.Waited,
		c: counters{calls: st.Calls, failures: gaveUp, retries: st.Retries},
		judge: func(card *Card, recent counters, secs float64) {
			if recent.failures > 0 {
				card.Status, card.State = "warn", "giving_up"
				card.Detail = fmt.Sprintf("%d calls gave up in %s", recent.failures, secondsF(secs))
				return
			}
			card.Detail = fmt.Sprintf("%d recovered by a retry in all", st.Recovered)
		},
	}
}

func readHedge(h *hedge.Hedge) reading {
	st := h.Stats()
	card := newCard("hedge", h.Name())
	card.Totals = map[string]uint64{
		"calls": st.Calls, "hedges": st.Hedges, "hedge_wins": st.HedgeWins, "refused": st.Refused,
		"running": uint64(max(st.Running, 0)),
	}
	return reading{
		key: h, card: card,
		c: counters{calls: st.Calls, rejected: st.Refused, retries: st.Hedges},
		judge: func(card *Card, recent counters, secs float64) {
			if st.Delay > 0 {
				card.Detail = "hedges after " + millis(st.Delay)
			} else {
				card.Detail = "hedges only on retryable failures (no delay yet)"
			}
			if recent.rejected > 0 {
				card.Status, card.State = "warn", "exhausted"
				card.Detail = fmt.Sprintf("the budget refused %d hedges in %s", recent.rejected, secondsF(secs))
			}
		},
	}
}

func readBudget(b *budget.Budget) reading {
	st := b.Stats()
	card := newCard("budget", b.Name())
	card.Totals = map[string]uint64{
		"deposits": st.Deposits, "withdrawn": st.Withdrawn, "refused": st.Refused, "available": uint64(max(st.Available, 0)),
	}
	return reading{
		key: b, card: card,
		c: counters{calls: st.Deposits, rejected: st.Refused, retries: st.Withdrawn},
		judge: func(card *Card, recent counters, secs float64) {
			if recent.rejected > 0 {
				card.Status, card.State = "warn", "exhausted"
				card.Detail = fmt.Sprintf("refused %d extra attempts in %s", recent.rejected, secondsF(secs))
				return
			}
			card.Detail = fmt.Sprintf("%d extra attempts available", st.Available)
		},
	}
}

func readConnWaits(key connHost, h poolwait.HostConnWaits) reading {
	card := newCard("conn_waits", h.Host)
	card.Totals = map[string]uint64{"checkouts": h.Wait.Count, "reused": h.Reused, "new": h.New, "failed": h.Failed}
	return reading{
		key: key, card: card, hasWait: true, wait: h.Wait,
		c: counters{calls: h.Wait.Count, failures: h.Failed},
		judge: func(card *Card, recent counters, secs float64) {
			if recent.failures > 0 {
				card.Status, card.State = "warn", "failing"
				card.Detail = fmt.Sprintf("%d checkouts got no connection in %s", recent.failures, secondsF(secs))
				return
			}
			card.Detail = fmt.Sprintf("%d reused, %d dialed", h.Reused, h.New)
		},
	}
}

// readConnPool reads a connection pool (a poolwait.Pool): its gauges,
// its waits where measured (else their mean, from the pool's counts), its
// holds, and its leaks.
func readConnPool(p poolwait.Pool) reading {
	st := p.PoolStats()
	card := newCard("connection_pool", p.PoolName())
	card.InFlight = ptr(st.InUse)
	if st.Max > 0 {
		card.Limit = ptr(st.Max)
	}
	if st.Pending >= 0 {
		card.Queued = ptr(st.Pending)
	}
	card.Totals = map[string]uint64{
		"checkouts": st.Acquired, "waited": st.Waits, "timeouts": st.Timeouts,
		"canceled": st.Canceled, "failed": st.Failed, "leaks": st.Leaks,
	}
	card.Pool = &PoolCard{Kind: st.Kind, WaitMeasured: st.WaitMeasured, OpenLeaks: st.OpenLeaks}
	return reading{
		key: p, card: card,
		hasWait: st.WaitMeasured, wait: st.Wait,
		hasHold: st.HoldMeasured, hold: st.Hold,
		c: counters{calls: st.Acquired, failures: st.Failed + st.Canceled, timeouts: st.Timeouts,
			waits: st.Waits, waitNS: uint64(max(0, st.WaitTotal))},
		judge: func(card *Card, recent counters, secs float64) {
			switch {
			case st.OpenLeaks > 0:
				card.Status, card.State = "warn", "leaking"
				card.Detail = fmt.Sprintf("%d connections held past the leak threshold", st.OpenLeaks)
			case recent.timeouts > 0:
				card.Status, card.State = "warn", "exhausted"
				card.Detail = fmt.Sprintf("%d checkouts timed out in %s", recent.timeouts, secondsF(secs))
			case st.Pending > 0:
				card.Status, card.State = "warn", "queueing"
				card.Detail = fmt.Sprintf("%d callers waiting for a connection", st.Pending)
			case st.Max > 0 && st.InUse >= st.Max:
				card.Status, card.State = "warn", "full"
				card.Detail = fmt.Sprintf("all %d connections in use", st.Max)
			default:
				card.Detail = fmt.Sprintf("%s pool, %d in use, %d idle", st.Kind, st.InUse, st.Idle)
			}
		},
	}
}

// readJobKind reads one kind of background job (a pool.JobKind:
// contrib/river's): jobs running, worked, failed, snoozed and cancelled,
// and how long they ran.
func readJobKind(k pool.JobKind) reading {
	st := k.JobStats()
	card := newCard("jobs", k.JobKind())
	card.InFlight = ptr(st.Running)
	card.Totals = map[string]uint64{"worked": st.Worked, "failed": st.Failed, "snoozed": st.Snoozed, "canceled": st.Canceled}
	return reading{
		key: k, card: card, hasWait: true, wait: st.Run,
		c: counters{calls: st.Worked, failures: st.Failed + st.Canceled, rejected: st.Snoozed},
		judge: func(card *Card, recent counters, secs float64) {
			switch {
			case recent.rejected > 0:
				card.Status, card.State = "refusing", "refusing"
				card.Detail = fmt.Sprintf("%d snoozed by a refusal in %s", recent.rejected, secondsF(secs))
			case recent.failures > 0:
				card.Status, card.State = "warn", "failing"
				card.Detail = fmt.Sprintf("%d failed or cancelled in %s", recent.failures, secondsF(secs))
			default:
				card.Detail = fmt.Sprintf("%s jobs, %d running", st.Engine, st.Running)
			}
		},
	}
}

// waitWhat names what each kind's Wait measures.
var waitWhat = map[string]string{
	"bulkhead": "wait for a slot", "pool": "wait for a worker", "timeout": "call duration",
	"retry": "wait between attempts", "conn_waits": "wait for a connection",
	"connection_pool": "wait for a connection", "jobs": "run time",
}

// seconds formats an open period or its time left: "4.2 s".
func seconds(d time.Duration) string { return secondsF(d.Seconds()) }

func secondsF(s float64) string {
	if s < 10 {
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.0f s", s)
}
