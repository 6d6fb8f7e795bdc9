package budget_test

import (
	"sync/atomic"
	"testing"

	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/internal/benchtest"
)

// Deposit beside its floor, one shared atomic add: the least a counter of
// requests can cost, and what a shared word costs from two cores.
func BenchmarkDeposit(b *testing.B) {
	bg := budget.MustNew(budget.Config{})
	benchtest.SerialAndParallel(b, "Deposit", bg, (*budget.Budget).Deposit)
	benchtest.SerialAndParallel(b, "floor=atomic-add", new(atomic.Uint64), func(n *atomic.Uint64) { n.Add(1) })
}

// TryWithdraw on a budget that always has room (and so counts every
// withdrawal), and on one that has none (every call a refusal).
func BenchmarkTryWithdraw(b *testing.B) {
	rich := budget.MustNew(budget.Config{Ratio: 10, MinPerSecond: budget.MaxMinPerSecond, Window: budget.MaxWindow})
	benchtest.SerialAndParallel(b, "granted", rich, func(bg *budget.Budget) { bg.TryWithdraw() })
	poor := budget.MustNew(budget.Config{MinPerSecond: -1})
	benchtest.SerialAndParallel(b, "refused", poor, func(bg *budget.Budget) { bg.TryWithdraw() })
	benchtest.SerialAndParallel(b, "floor=atomic-add", new(atomic.Uint64), func(n *atomic.Uint64) { n.Add(1) })
}
