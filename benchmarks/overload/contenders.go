package overload

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	fsbudget "github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/adaptive"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// Ours is the contender's name prefix for watertight's.
const Ours = "watertight"

// Bare calls once, with nothing around the call but its deadline.
func Bare(name string) Contender {
	return Contender{Name: name, Build: func() Instance {
		return Instance{Call: func(ctx context.Context, attempt func(context.Context) error) error { return attempt(ctx) }}
	}}
}

// PlainLoop retries three attempts in all with cenkalti/backoff, as a
// hand-written loop would: exponential waits from 10 ms with the
// library's default jitter, each attempt bounded by attemptTimeout,
// stopping when the request's ctx ends.
func PlainLoop(attemptTimeout time.Duration) Contender {
	return Contender{Name: "plain loop (cenkalti/backoff, 3 attempts)", Build: func() Instance {
		return Instance{Call: func(ctx context.Context, attempt func(context.Context) error) error {
			b := backoff.NewExponentialBackOff(backoff.WithInitialInterval(10 * time.Millisecond))
			return backoff.Retry(func() error {
				actx, cancel := context.WithTimeout(ctx, attemptTimeout)
				defer cancel()
				return attempt(actx)
			}, backoff.WithContext(backoff.WithMaxRetries(b, 2), ctx))
		}}
	}}
}

// runFailsafe runs attempt under a failsafe-go executor, with ctx.
func runFailsafe(exec failsafe.Executor[any]) Caller {
	return func(ctx context.Context, attempt func(context.Context) error) error {
		return exec.WithContext(ctx).RunWithExecution(func(e failsafe.Execution[any]) error { return attempt(e.Context()) })
	}
}

// FailsafeRetry is failsafe-go's retrypolicy with its defaults (three
// attempts, no delay) around its timeout policy of attemptTimeout, and
// with its budget (at most 20% of the executions in flight are retries, at
// least 3) when budgeted.
func FailsafeRetry(budgeted bool, attemptTimeout time.Duration) Contender {
	name := "failsafe-go retrypolicy (defaults)"
	if budgeted {
		name = "failsafe-go retrypolicy + budget"
	}
	return Contender{Name: name, Build: func() Instance {
		b := retrypolicy.NewBuilder[any]()
		if budgeted {
			b = b.WithBudget(fsbudget.New())
		}
		return Instance{Call: runFailsafe(failsafe.With[any](b.Build(), fstimeout.New[any](attemptTimeout)))}
	}}
}

// OursRetry is the recommended chain: a total timeout of the request's
// deadline, a retry with its defaults (its own budget), a breaker with its
// defaults, a bulkhead of slots, and an attempt timeout. With slots 0 it
// has no bulkhead: what the budget, the deadline and the breaker do alone.
func OursRetry(slots int, attemptTimeout, total time.Duration) Contender {
	name := Ours + " Chain(timeout, retry, breaker, bulkhead, timeout)"
	if slots == 0 {
		name = Ours + " Chain(timeout, retry, breaker, timeout), no bulkhead"
	}
	return Contender{Name: name, Build: func() Instance {
		r := retry.MustNew(retry.Config{})
		policies := []watertight.Policy{timeout.MustNew(timeout.Config{Duration: total}), r, breaker.MustNew(breaker.Config{})}
		if slots > 0 {
			policies = append(policies, bulkhead.MustNew(bulkhead.Config{MaxConcurrent: slots}))
		}
		p := watertight.Chain(append(policies, timeout.MustNew(timeout.Config{Duration: attemptTimeout}))...)
		return Instance{Call: func(ctx context.Context, attempt func(context.Context) error) error { return p.Do(ctx, attempt) }, Retry: r}
	}}
}

// Static is a bulkhead of a fixed size that refuses at once when full.
func Static(name string, slots int) Contender {
	return Contender{Name: name, Build: func() Instance {
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: slots})
		return Instance{Call: func(ctx context.Context, attempt func(context.Context) error) error { return b.Do(ctx, attempt) },
			Limit: func() int { return slots }}
	}}
}

// FailsafeLimiter is failsafe-go's adaptivelimiter with its defaults.
func FailsafeLimiter() Contender {
	return Contender{Name: "failsafe-go adaptivelimiter (defaults)", Build: func() Instance {
		l := adaptivelimiter.NewWithDefaults[any]()
		return Instance{Call: runFailsafe(failsafe.With[any](l)), Limit: l.Limit}
	}}
}

// OursAdaptive is a bulkhead whose limit Gradient sets (its defaults),
// under ceiling, with a CoDel queue of queue waiters whose interval (the
// longest a waiter waits while the queue does not stand) is interval;
// the target is CoDel's default, 5 ms.
func OursAdaptive(ceiling, queue int, interval time.Duration) Contender {
	return Contender{Name: Ours + " bulkhead (Gradient, CoDel)", Build: func() Instance {
		g, err := adaptive.Gradient(adaptive.GradientConfig{})
		if err != nil {
			panic(err)
		}
		b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: ceiling, MaxQueue: queue, Queue: bulkhead.CoDel, CoDelInterval: interval, Limit: g})
		return Instance{Call: func(ctx context.Context, attempt func(context.Context) error) error { return b.Do(ctx, attempt) },
			Limit: func() int { return b.Stats().MaxConcurrent }}
	}}
}

// FailsafeHedge is failsafe-go's hedgepolicy with a delay at the p95 of
// recent executions (quantileAge 1,000, hedging after 100 executions).
func FailsafeHedge() Contender {
	return Contender{Name: "failsafe-go hedgepolicy (p95 delay)", Build: func() Instance {
		return Instance{Call: runFailsafe(failsafe.With[any](hedgepolicy.NewWithDelayQuantile[any](0.95, 1000, 100)))}
	}}
}

// OursHedge is watertight's hedge with its defaults: an adaptive delay.
func OursHedge() Contender {
	return Contender{Name: Ours + " hedge (adaptive delay)", Build: func() Instance {
		h := hedge.MustNew(hedge.Config{})
		return Instance{Call: func(ctx context.Context, attempt func(context.Context) error) error { return h.Do(ctx, attempt) }, Hedge: h}
	}}
}
