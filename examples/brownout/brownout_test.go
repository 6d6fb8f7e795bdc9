package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/benchmarks/overload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The demo's own figures run on real time for most of a minute; the
// scenarios and their targets are tested in benchmarks/overload, in
// simulated time. Here: what the demo picks, and how long it runs.
func TestTheDemoRunsUnderAMinute(t *testing.T) {
	total := length(overload.RetryStorm().Scaled(stormScale)) + length(overload.Brownout().Scaled(brownoutScale))
	assert.Equal(t, 50*time.Second, total)
	for _, cs := range [][]overload.Contender{stormContenders(), brownoutContenders()} {
		assert.True(t, strings.HasPrefix(cs[len(cs)-1].Name, overload.Ours), "ours last, for the ratios: %s", cs[len(cs)-1].Name)
		assert.False(t, strings.HasPrefix(cs[0].Name, overload.Ours))
	}
	assert.Equal(t, 5*time.Second, at(overload.RetryStorm().Scaled(stormScale), 1))
}
