package benchtest_test

import (
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/benchtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func BenchmarkSerialAndParallel(b *testing.B) {
	benchtest.SerialAndParallel(b, "count", new(atomic.Int64), func(n *atomic.Int64) { n.Add(1) })
}
