package main

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/bulkhead"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The demo's scenario in fake time: the bulkhead keeps the fast requests
// fast while the slow dependency holds what it is allowed to.
func TestBulkheadIsolatesTheSlowDependency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := run(500*time.Millisecond, time.Second, nil)
		reports := bulkhead.MustNew(bulkhead.Config{Name: "reports", MaxConcurrent: 3})
		after := run(500*time.Millisecond, time.Second, reports)

		assert.GreaterOrEqual(t, before.p(0.99), 500*time.Millisecond, "unprotected, fast requests queue behind slow ones")
		assert.Equal(t, 5*time.Millisecond, after.p(0.99), "protected, they take only their own 5ms")
		assert.Zero(t, after.fastFailed)
		assert.Positive(t, after.slowRefused)
		assert.LessOrEqual(t, reports.Stats().Acquired, uint64(3), "each slow call holds its slot for the whole run")
	})
}
