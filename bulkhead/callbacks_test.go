package bulkhead_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/adaptive"
	"github.com/watertight-go/watertight/bulkhead"
)

// A panicking OnLimitChange goes up the caller's stack once; the bulkhead
// is not left "delivering" for ever: later changes are delivered.
func TestAPanickingOnLimitChangeGoesUpOnce(t *testing.T) {
	var got []int
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 4, OnLimitChange: func(c bulkhead.LimitChange) {
		got = append(got, c.To)
		if len(got) == 1 {
			panic("callback")
		}
	}})
	assert.PanicsWithValue(t, "callback", func() { _ = b.SetMaxConcurrent(2) })
	require.NoError(t, b.SetMaxConcurrent(3))
	require.NoError(t, b.SetMaxConcurrent(5))
	assert.Equal(t, []int{2, 3, 5}, got)
	assert.Equal(t, 5, b.Stats().MaxConcurrent)
}

// One adaptive Limit given to two bulkheads is an error: it would mix
// their calls into one limit.
func TestALimitIsOneBulkheads(t *testing.T) {
	l, err := adaptive.Gradient(adaptive.GradientConfig{})
	require.NoError(t, err)
	a, err := bulkhead.New(bulkhead.Config{MaxConcurrent: 10, Limit: l})
	require.NoError(t, err)
	_, err = bulkhead.New(bulkhead.Config{MaxConcurrent: 10, Limit: l})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bulkhead: Config.Limit (*adaptive.gradient")
	assert.Contains(t, err.Error(), "is already another bulkhead's")
	runtime.KeepAlive(a)
}
