package adaptive_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/adaptive"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{second(adaptive.AIMD(adaptive.AIMDConfig{Initial: -1})), "adaptive: AIMDConfig.Initial must be >= 0, got -1"},
		{second(adaptive.AIMD(adaptive.AIMDConfig{Min: 30, Max: 10})), "adaptive: AIMDConfig needs Min <= Initial <= Max, got 30, 20, 10 (zero fields at their defaults)"},
		{second(adaptive.AIMD(adaptive.AIMDConfig{Backoff: 1})), "adaptive: AIMDConfig.Backoff must be in (0, 1), got 1"},
		{second(adaptive.AIMD(adaptive.AIMDConfig{Timeout: -time.Second})), "adaptive: AIMDConfig.Timeout must be >= 0, got -1s"},
		{second(adaptive.Gradient(adaptive.GradientConfig{Max: -5})), "adaptive: GradientConfig.Max must be >= 0, got -5"},
		{second(adaptive.Gradient(adaptive.GradientConfig{Tolerance: 0.9})), "adaptive: GradientConfig.Tolerance must be >= 1, got 0.9"},
		{second(adaptive.Gradient(adaptive.GradientConfig{Tolerance: math.NaN()})), "adaptive: GradientConfig.Tolerance must be >= 1, got NaN"},
		{second(adaptive.Gradient(adaptive.GradientConfig{QueueSize: -1})), "adaptive: GradientConfig.QueueSize must be >= 0, got -1"},
		{second(adaptive.Gradient(adaptive.GradientConfig{Smoothing: 1.5})), "adaptive: GradientConfig.Smoothing must be in (0, 1], got 1.5"},
		{second(adaptive.Gradient(adaptive.GradientConfig{ProbeInterval: -1})), "adaptive: GradientConfig.ProbeInterval must be >= 0, got -1ns"},
		{second(adaptive.Gradient(adaptive.GradientConfig{MaxHealthyRTT: -1})), "adaptive: GradientConfig.MaxHealthyRTT must be >= 0, got -1ns"},
		{second(adaptive.Gradient(adaptive.GradientConfig{MaxHealthyRTT: 10})), "adaptive: GradientConfig.MaxHealthyRTT must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{second(adaptive.Gradient(adaptive.GradientConfig{ProbeInterval: math.MaxInt64})), "adaptive: GradientConfig.ProbeInterval must be at most 24h0m0s, got 2562047h47m16.854775807s"},
		{second(adaptive.Gradient(adaptive.GradientConfig{Max: 1 << 40})), "adaptive: GradientConfig.Initial, Min and Max must be at most 1048575, got 0, 0, 1099511627776"},
		{second(adaptive.Gradient(adaptive.GradientConfig{QueueSize: 1 << 40})), "adaptive: GradientConfig.QueueSize must be at most 1048575, got 1099511627776"},
		{second(adaptive.AIMD(adaptive.AIMDConfig{Timeout: 10})), "adaptive: AIMDConfig.Timeout must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{second(adaptive.Gradient(adaptive.GradientConfig{Initial: 5, Min: 10})), "adaptive: GradientConfig needs Min <= Initial <= Max, got 10, 5, 1000 (zero fields at their defaults)"},
	} {
		assert.EqualError(t, tc.err, tc.want)
	}
}

func second(_ adaptive.Limit, err error) error { return err }
