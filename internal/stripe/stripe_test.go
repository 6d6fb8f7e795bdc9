package stripe_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/stripe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCounterLosesNothing(t *testing.T) {
	var c stripe.Counter
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Add(stripe.Hint())
			}
		})
	}
	wg.Wait()
	assert.Equal(t, uint64(8000), c.Load())
}

func TestHintSpreadsGoroutines(t *testing.T) {
	seen := map[int]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			h := stripe.Hint()
			assert.True(t, h >= 0 && h < stripe.Count)
			mu.Lock()
			seen[h] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Greater(t, len(seen), stripe.Count/2, "64 goroutines use most lines")
}
