package codel_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/codel"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSettingsCheckAndName(t *testing.T) {
	tg, iv := codel.Settings(0, 0)
	assert.Equal(t, 5*time.Millisecond, tg)
	assert.Equal(t, 100*time.Millisecond, iv)
	assert.NoError(t, codel.Check("x", true, "CoDel", 0, 0))
	assert.NoError(t, codel.Check("x", false, "FIFO", 0, 0))
	assert.EqualError(t, codel.Check("x", true, "CoDel", 0, time.Millisecond), "x: Config.CoDelTarget (5ms) must be less than Config.CoDelInterval (1ms)")
	assert.Equal(t, "FIFO", codel.Name(0))
	assert.Equal(t, "CoDel", codel.Name(1))
	assert.Equal(t, "QueueDiscipline(4)", codel.Name(4))
}
