package rejection_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/rejection"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSentinelAndNamedMatchBoth(t *testing.T) {
	full := rejection.New("bulkhead", "full")
	other := rejection.New("bulkhead", "wait timeout")
	assert.EqualError(t, full, "bulkhead: full")
	assert.ErrorIs(t, full, watertight.ErrRejected)
	assert.NotErrorIs(t, full, other)

	named := rejection.Name(full, "payments")
	assert.EqualError(t, named, `bulkhead "payments": full`)
	assert.ErrorIs(t, named, full)
	assert.ErrorIs(t, named, watertight.ErrRejected)
	assert.NotErrorIs(t, named, other)
	assert.Same(t, full, rejection.Name(full, ""))
	assert.False(t, errors.Is(errors.New("bulkhead: full"), full))
}
