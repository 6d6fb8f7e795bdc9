package monotime_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/monotime"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNowMeasuresElapsedTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := monotime.Now()
		<-time.After(250 * time.Millisecond)
		assert.Equal(t, int64(250*time.Millisecond), monotime.Now()-a)
		assert.NotZero(t, a)
	})
}

func TestInBubble(t *testing.T) {
	assert.False(t, monotime.InBubble(monotime.Now()))
	synctest.Test(t, func(t *testing.T) {
		assert.True(t, monotime.InBubble(monotime.Now()))
	})
}
