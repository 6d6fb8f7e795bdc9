package adaptive_test

import (
	"context"
	"fmt"

	"github.com/watertight-go/watertight/adaptive"
	"github.com/watertight-go/watertight/bulkhead"
)

// An adaptive bulkhead: MaxConcurrent is the ceiling, the limit starts at
// the algorithm's Initial and moves with what the calls see; here two
// inner refusals (a sign of overload) lower it, and OnLimitChange reports
// each change.
func ExampleAIMD() {
	limit, err := adaptive.AIMD(adaptive.AIMDConfig{Initial: 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	db := bulkhead.MustNew(bulkhead.Config{
		Name:          "db",
		MaxConcurrent: 100,
		Limit:         limit,
		OnLimitChange: func(c bulkhead.LimitChange) { fmt.Printf("%s: limit %d → %d\n", c.Name, c.From, c.To) },
	})
	fmt.Println("starts at", db.Stats().MaxConcurrent)
	for range 2 {
		_ = db.Do(context.Background(), func(context.Context) error {
			return bulkhead.ErrFull // an inner policy refused: overload
		})
	}
	// Output:
	// starts at 20
	// db: limit 20 → 18
	// db: limit 18 → 16
}

// Gradient with its defaults, in front of a dependency: it first probes at
// half its Initial to learn the no-load latency.
func ExampleGradient() {
	limit, err := adaptive.Gradient(adaptive.GradientConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var changes []bulkhead.LimitChange
	db := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 200, Limit: limit,
		OnLimitChange: func(c bulkhead.LimitChange) { changes = append(changes, c) }})
	fmt.Println("starts at", db.Stats().MaxConcurrent)
	_ = db.Do(context.Background(), func(context.Context) error { return nil })
	fmt.Println("first change:", changes[0].From, "→", changes[0].To)
	// Output:
	// starts at 20
	// first change: 20 → 10
}
