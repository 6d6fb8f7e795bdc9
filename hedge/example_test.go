package hedge_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/retry"
)

// A fixed delay: the first attempt hangs (a slow replica), so a hedge goes
// out after 10 ms, answers, and wins; the first attempt's ctx is
// cancelled.
func ExampleHedge_Do() {
	h := hedge.MustNew(hedge.Config{Name: "search", Delay: 10 * time.Millisecond})
	var n atomic.Int32
	result, err := watertight.Call(context.Background(), h, func(ctx context.Context) (string, error) {
		if n.Add(1) == 1 {
			<-ctx.Done() // the slow replica, until the hedge wins
			return "", ctx.Err()
		}
		return "results from the second replica", nil
	})
	st := h.Stats()
	fmt.Println(result, err)
	fmt.Println("hedges:", st.Hedges, "won by a hedge:", st.HedgeWins)
	// Output:
	// results from the second replica <nil>
	// hedges: 1 won by a hedge: 1
}

// An adaptive delay: until it has seen Warmup attempts it hedges only on
// retryable failures; then it hedges after the p95 of recent attempts.
func ExampleConfig_adaptive() {
	h := hedge.MustNew(hedge.Config{Name: "search"}) // Delay 0: adaptive, Quantile 0.95
	fmt.Println("delay before any call:", h.Stats().Delay)
	for range hedge.Warmup {
		_ = h.Do(context.Background(), func(context.Context) error { return nil })
	}
	fmt.Println("a delay learned after", hedge.Warmup, "calls:", h.Stats().Delay > 0)
	// Output:
	// delay before any call: 0s
	// a delay learned after 100 calls: true
}

// One budget for a dependency, shared by its retry and its hedge: one
// extra attempt per two calls. Two reads earn one, which the second read's
// retry spends, so the lookup's hedge is refused and the lookup runs its
// first attempt out.
func ExampleConfig_sharedBudget() {
	ledger := budget.MustNew(budget.Config{Name: "ledger", Ratio: 0.5, MinPerSecond: -1})
	reads := retry.MustNew(retry.Config{Name: "ledger-reads", Budget: ledger, MaxAttempts: 2})
	lookups := hedge.MustNew(hedge.Config{Name: "ledger-lookups", Delay: time.Millisecond, Budget: ledger})

	_ = reads.Do(context.Background(), func(context.Context) error { return nil })
	calls := 0
	_ = reads.Do(context.Background(), func(context.Context) error {
		if calls++; calls == 1 {
			return errors.New("flaky")
		}
		return nil
	})
	_ = lookups.Do(context.Background(), func(context.Context) error {
		<-time.After(20 * time.Millisecond) // slow enough to hedge, if the budget allowed
		return nil
	})
	fmt.Println("retries:", reads.Stats().Retries, "hedges:", lookups.Stats().Hedges, "refused:", lookups.Stats().Refused)
	// Output:
	// retries: 1 hedges: 0 refused: 1
}
