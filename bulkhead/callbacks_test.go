package bulkhead_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
