package typednil_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/typednil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type policy struct{}

type policyFunc func()

func TestIs(t *testing.T) {
	var p *policy
	var f policyFunc
	var m map[string]int
	assert.True(t, typednil.Is(nil))
	assert.True(t, typednil.Is(p))
	assert.True(t, typednil.Is(f))
	assert.True(t, typednil.Is(m))
	assert.False(t, typednil.Is(&policy{}))
	assert.False(t, typednil.Is(policy{}))
	assert.False(t, typednil.Is(policyFunc(func() {})))
	assert.False(t, typednil.Is(3))
}

func TestDescribe(t *testing.T) {
	assert.Equal(t, "nil", typednil.Describe(nil))
	assert.Equal(t, "a nil *typednil_test.policy", typednil.Describe((*policy)(nil)))
}
