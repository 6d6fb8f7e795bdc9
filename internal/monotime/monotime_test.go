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

// Time gives back a reading's moment: differences with time.Now's, in and
// out of a bubble, are those of the readings.
func TestTime(t *testing.T) {
	a := monotime.Now()
	now := time.Now()
	b := monotime.Now()
	assert.LessOrEqual(t, monotime.Time(a).Sub(now), time.Duration(0))
	assert.GreaterOrEqual(t, monotime.Time(b).Sub(now), time.Duration(0))
	assert.Equal(t, time.Duration(b-a), monotime.Time(b).Sub(monotime.Time(a)))
	synctest.Test(t, func(t *testing.T) {
		r := monotime.Now()
		start := time.Now()
		<-time.After(time.Second)
		assert.Equal(t, time.Second, monotime.Time(monotime.Now()).Sub(start))
		assert.Equal(t, time.Duration(0), monotime.Time(r).Sub(start))
	})
}
