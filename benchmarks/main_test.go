package benchmarks_test

import (
	"testing"

	"go.uber.org/goleak"
)

// ants starts a default pool, with two background goroutines, when its
// package is initialised; they are not ours to stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}
