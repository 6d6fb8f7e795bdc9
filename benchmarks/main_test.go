package benchmarks_test

import (
	"testing"

	"go.uber.org/goleak"
)

// ants starts a default pool, with two background goroutines, when its
// package is initialised; eapache's breaker sleeps out each open period on
// a goroutine of its own. They are not ours to stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}
