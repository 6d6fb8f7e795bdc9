package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/timeout"
)

// fixedOpen makes examples deterministic: every open period lasts d.
func fixedOpen(d time.Duration) backoff.BackOff { return backoff.NewConstantBackOff(d) }

// A breaker in front of a dependency: once half of the last 10 calls have
// failed, calls are refused at once instead of waiting on it.
func ExampleBreaker_Do() {
	inventory := breaker.MustNew(breaker.Config{
		Name:        "inventory",
		WindowCalls: 10,
		OpenBackoff: fixedOpen(30 * time.Second),
	})
	down := errors.New("connection refused")
	for range 10 {
		_ = inventory.Do(context.Background(), func(ctx context.Context) error {
			return down // the dependency is down
		})
	}
	err := inventory.Do(context.Background(), func(ctx context.Context) error {
		panic("not called while open")
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, breaker.ErrOpen), errors.Is(err, watertight.ErrRejected))
	after, _ := watertight.RetryAfter(err)
	fmt.Println("Retry-After:", after.Seconds())
	// Output:
	// breaker "inventory": open, retry after 30s
	// true true
	// Retry-After: 30
}

// Allow is the two-step form, for a call that does not fit in a func, such
// as a stream: report its outcome with done.
func ExampleBreaker_Allow() {
	search := breaker.MustNew(breaker.Config{Name: "search"})

	done, err := search.Allow()
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	var streamErr error // ... read the stream to its end ...
	done(streamErr)

	st := search.Stats()
	fmt.Println(st.State, st.Successes)
	// Output:
	// closed 1
}

// A dependency that answers, but slowly, holds its callers as surely as
// one that fails: SlowCall trips the breaker on slowness alone.
func ExampleConfig_slowCall() {
	pricing := breaker.MustNew(breaker.Config{
		Name:         "pricing",
		WindowCalls:  4,
		SlowCall:     time.Millisecond,
		SlowCallRate: 0.5,
	})
	slowCall := func(ctx context.Context) error {
		<-time.After(2 * time.Millisecond) // a successful call, but slow
		return nil
	}
	for range 4 {
		_ = pricing.Do(context.Background(), slowCall)
	}
	st := pricing.Stats()
	fmt.Println(st.State, "failures:", st.Failures, "slow:", st.SlowCalls)
	// Output:
	// open failures: 0 slow: 4
}

// OnStateChange sees every transition, in order, outside the breaker's
// lock: it may read the breaker.
func ExampleConfig_onStateChange() {
	var b *breaker.Breaker
	b = breaker.MustNew(breaker.Config{
		Name:        "ledger",
		WindowCalls: 2,
		OpenBackoff: fixedOpen(time.Minute),
		OnStateChange: func(c breaker.StateChange) {
			fmt.Printf("%s: %s → %s (%s); state now %s\n", c.Name, c.From, c.To, c.Reason, b.State())
		},
	})
	fail := func(context.Context) error { return errors.New("timeout") }
	_ = b.Do(context.Background(), fail)
	_ = b.Do(context.Background(), fail)
	b.Reset()
	// Output:
	// ledger: closed → open (failure rate); state now open
	// ledger: open → closed (reset); state now closed
}

// New names the field that is wrong.
func ExampleNew() {
	_, err := breaker.New(breaker.Config{FailureRate: 1.5})
	fmt.Println(err)
	// Output:
	// breaker: Config.FailureRate must be in (0, 1], got 1.5
}

// The recommended order for an outbound call: a total timeout outermost,
// the breaker outside the bulkhead (a full bulkhead never called the
// dependency, so it counts neither way), the attempt timeout innermost.
func Example_chain() {
	payments := watertight.Chain(
		timeout.MustNew(timeout.Config{Name: "payments-total", Duration: 2 * time.Second}),
		breaker.MustNew(breaker.Config{Name: "payments"}),
		bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 10}),
		timeout.MustNew(timeout.Config{Name: "payments-attempt", Duration: 500 * time.Millisecond}),
	)
	receipt, err := watertight.Call(context.Background(), payments, func(ctx context.Context) (string, error) {
		return "receipt-42", nil // call the payments API with ctx
	})
	fmt.Println(receipt, err)
	// Output:
	// receipt-42 <nil>
}

// LogStateChanges logs every transition through a logger you supply.
func ExampleLogStateChanges() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{} // deterministic output
		}
		return a
	}}))
	b := breaker.MustNew(breaker.Config{
		Name:          "search",
		WindowCalls:   1,
		OpenBackoff:   fixedOpen(10 * time.Second),
		OnStateChange: breaker.LogStateChanges(logger),
	})
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("503 from search") })
	// Output:
	// level=WARN msg="breaker: open" name=search from=closed to=open reason="failure rate" retry_after=10s
}
