package watertight_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/bulkhead"
)

// A service wraps each call to a dependency in that dependency's policy.
func Example() {
	inventory := bulkhead.MustNew(bulkhead.Config{
		Name:          "inventory",
		MaxConcurrent: 20,
		MaxQueue:      10,
		MaxWait:       100 * time.Millisecond,
	})

	count, err := watertight.Call(context.Background(), inventory, func(ctx context.Context) (int, error) {
		return 7, nil // the real call to the inventory service goes here
	})
	if errors.Is(err, watertight.ErrRejected) {
		fmt.Println("shed load: answer 503")
		return
	}
	fmt.Println(count, err)
	// Output: 7 <nil>
}

func ExampleChain() {
	outer := bulkhead.MustNew(bulkhead.Config{Name: "per-host", MaxConcurrent: 100})
	inner := bulkhead.MustNew(bulkhead.Config{Name: "search", MaxConcurrent: 1})
	p := watertight.Chain(outer, inner) // outer.Do runs inner.Do runs fn

	err := p.Do(context.Background(), func(ctx context.Context) error {
		fmt.Println("in flight:", outer.Stats().InFlight, inner.Stats().InFlight)
		return nil
	})
	fmt.Println(err)

	fmt.Println(watertight.Chain(outer, nil).Do(context.Background(), func(context.Context) error { return nil }))
	// Output:
	// in flight: 1 1
	// <nil>
	// watertight: Chain: policy 1 of 2 is nil
}

func ExampleCall() {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 4})
	name, err := watertight.Call(context.Background(), b, func(ctx context.Context) (string, error) {
		return "gopher", nil
	})
	fmt.Println(name, err)
	// Output: gopher <nil>
}

func ExampleRetryAfter() {
	// A rejection that knows when to come back (as breaker.OpenError does).
	err := fmt.Errorf("calling payments: %w", retryIn(30*time.Second))
	if d, ok := watertight.RetryAfter(err); ok {
		fmt.Println("Retry-After:", d.Seconds())
	}
	// Output: Retry-After: 30
}

type retryIn time.Duration

func (r retryIn) Error() string                 { return "circuit open" }
func (r retryIn) RetryAfterHint() time.Duration { return time.Duration(r) }
