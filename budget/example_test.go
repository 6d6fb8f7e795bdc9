package budget_test

import (
	"fmt"

	"github.com/watertight-go/watertight/budget"
)

// One budget per dependency, shared by everything that retries or hedges
// calls to it: every request deposits, every extra attempt withdraws.
func ExampleBudget() {
	payments := budget.MustNew(budget.Config{
		Name:         "payments",
		Ratio:        0.1, // one extra attempt per ten requests
		MinPerSecond: -1,  // and none on top, to show the ratio alone
	})
	for range 50 {
		payments.Deposit()
	}
	granted := 0
	for payments.TryWithdraw() {
		granted++
	}
	st := payments.Stats()
	fmt.Println("requests:", st.Deposits, "extra attempts granted:", granted, "refused:", st.Refused)
	// Output:
	// requests: 50 extra attempts granted: 5 refused: 1
}
