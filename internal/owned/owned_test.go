package owned_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/owned"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type owner struct{ _ [16]byte }
type state struct{ _ int }

func TestAValueHasOneOwnerAtATime(t *testing.T) {
	shared := &state{}
	a, b := new(owner), new(owner)
	assert.True(t, owned.Claim(shared, a))
	assert.False(t, owned.Claim(shared, b), "a second owner of the same pointer")
	assert.True(t, owned.Claim(&state{}, b), "another value")
	assert.True(t, owned.Claim(state{}, b), "a value that is not shared: always its own copy")
	assert.True(t, owned.Claim(state{}, b))
	type none struct{}
	assert.True(t, owned.Claim(&none{}, a), "a pointer to a zero-size value holds no state")
	assert.True(t, owned.Claim(&none{}, b))
	runtime.KeepAlive(a)

	// Once its owner is gone, the value may be claimed again.
	again := &state{}
	func() {
		gone := new(owner)
		assert.True(t, owned.Claim(again, gone))
	}()
	for range 1000 { // the cleanup runs on its own goroutine after a collection
		runtime.GC()
		runtime.Gosched()
		if owned.Claim(again, b) {
			return
		}
	}
	t.Fatal("the claim outlived its owner")
}
