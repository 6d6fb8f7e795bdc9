package slowload_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/benchmarks/slowload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A short run, so the program never rots; the margins are wide.
func TestShortRun(t *testing.T) {
	res := slowload.Run(slowload.Config{Rate: 200, Duration: time.Second}, nil)
	require.Len(t, res, 5)
	byName := map[string]slowload.Result{}
	for _, r := range res {
		assert.Positive(t, r.Requests, r.Library)
		byName[r.Library] = r
	}
	assert.GreaterOrEqual(t, byName["watertight"].SuccessRate, 0.95)
	assert.Greater(t, byName["none"].P99, 10*byName["watertight"].P99, "without isolation the hanging dependency takes the shared slots")
}
