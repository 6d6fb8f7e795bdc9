package withindo_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/withindo"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type always struct{ _ int }
type sometimes struct{ abandon bool }
type unknown struct{ _ int }

func init() {
	withindo.Register[always](nil)
	withindo.Register(func(s *sometimes) bool { return !s.abandon })
}

func TestOnly(t *testing.T) {
	assert.True(t, withindo.Only(&always{}))
	assert.True(t, withindo.Only(&sometimes{}))
	assert.False(t, withindo.Only(&sometimes{abandon: true}))
	assert.False(t, withindo.Only(&unknown{}))
	assert.False(t, withindo.Only(always{}), "the value type is not registered, only the pointer")
	assert.False(t, withindo.Only(nil))
}
