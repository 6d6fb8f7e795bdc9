package durations_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/durations"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheck(t *testing.T) {
	assert.NoError(t, durations.Check("timeout", "Config.Duration", 0))
	assert.NoError(t, durations.Check("timeout", "Config.Duration", time.Millisecond))
	assert.NoError(t, durations.Check("timeout", "Config.Duration", time.Hour))
	assert.EqualError(t, durations.Check("timeout", "Config.Duration", 10),
		"timeout: Config.Duration must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)")
	assert.EqualError(t, durations.Check("hedge", "Config.Delay", 999*time.Microsecond),
		"hedge: Config.Delay must be 0 or at least 1ms, got 999µs")
	assert.EqualError(t, durations.Check("retry", "Config.MaxDelay", -time.Second), "retry: Config.MaxDelay must be >= 0, got -1s")
	assert.NoError(t, durations.First(nil, nil))
	assert.EqualError(t, durations.First(nil, durations.Check("a", "Config.B", 1), durations.Check("a", "Config.C", 2)),
		"a: Config.B must be 0 or at least 1ms, got 1ns (a bare number is nanoseconds: write 1 * time.Millisecond)")
}
