package benchtest_test

import (
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/benchtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func BenchmarkSerialAndParallel(b *testing.B) {
	var n atomic.Int64
	benchtest.SerialAndParallel(b, "count", func() { n.Add(1) })
}
