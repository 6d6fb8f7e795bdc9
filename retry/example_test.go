package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// Do retries a call that fails, here twice before it succeeds, inside the
// recommended chain: the total timeout outside, an attempt timeout inside.
func ExampleRetry_Do() {
	payments := watertight.Chain(
		timeout.MustNew(timeout.Config{Name: "payments", Duration: 2 * time.Second}),
		retry.MustNew(retry.Config{
			Name:    "payments",
			Backoff: func() backoff.BackOff { return backoff.NewConstantBackOff(10 * time.Millisecond) },
			OnRetry: func(a retry.Attempt) { fmt.Printf("retry %d after: %v\n", a.Attempt, a.Err) },
		}),
		timeout.MustNew(timeout.Config{Name: "payments-attempt", Duration: 500 * time.Millisecond}),
	)
	calls := 0
	receipt, err := watertight.Call(context.Background(), payments, func(ctx context.Context) (string, error) {
		if calls++; calls < 3 {
			return "", errors.New("connection reset")
		}
		return "receipt-42", nil
	})
	fmt.Println(receipt, err)
	// Output:
	// retry 1 after: connection reset
	// retry 2 after: connection reset
	// receipt-42 <nil>
}

// One budget for a dependency, shared by every Retry that calls it: here
// it allows one retry per ten calls and no more, so the second failing
// call's retry is refused and Do says why, with the last error.
func ExampleConfig_sharedBudget() {
	ledger := budget.MustNew(budget.Config{Name: "ledger", Ratio: 0.1, MinPerSecond: -1})
	reads := retry.MustNew(retry.Config{Name: "ledger-reads", Budget: ledger, MaxAttempts: 2})
	writes := retry.MustNew(retry.Config{Name: "ledger-writes", Budget: ledger, MaxAttempts: 2})

	for range 9 {
		_ = reads.Do(context.Background(), func(context.Context) error { return nil })
	}
	down := func(context.Context) error { return errors.New("ledger down") }
	fmt.Println(writes.Do(context.Background(), down))
	fmt.Println(errors.Is(reads.Do(context.Background(), down), retry.ErrBudget))
	// Output:
	// ledger down (retry "ledger-writes": 2 attempts, gave up: attempts exhausted)
	// true
}

// Permanent marks an error that another attempt cannot fix: Do returns it
// at once, as it is.
func ExamplePermanent() {
	r := retry.MustNew(retry.Config{Name: "payments"})
	errDeclined := errors.New("card declined")
	calls := 0
	err := r.Do(context.Background(), func(context.Context) error {
		calls++
		return retry.Permanent(errDeclined)
	})
	fmt.Println(err == errDeclined, calls)
	// Output:
	// true 1
}
