package bulkhead_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/watertight-go/watertight/bulkhead"
)

// shared is created once, outside any bubble, the way a service declares
// its bulkheads at package level.
var shared = bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 4, MaxWait: time.Second})

// waitInBubble makes callers queue on shared inside a synctest bubble,
// with MaxWait timers and hand-overs, and checks what they got.
func waitInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release, err := shared.Acquire(t.Context())
		if !assert.NoError(t, err) {
			return
		}
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				errs <- shared.Do(t.Context(), func(context.Context) error {
					<-time.After(10 * time.Millisecond)
					return nil
				})
			}()
		}
		synctest.Wait() // all three queued
		release()
		for range 3 {
			assert.NoError(t, <-errs)
		}
		// A waiter that times out leaves its timer behind in this bubble.
		release, err = shared.Acquire(t.Context())
		if !assert.NoError(t, err) {
			return
		}
		assert.ErrorIs(t, shared.Do(t.Context(), func(context.Context) error { return nil }), bulkhead.ErrWaitTimeout)
		release()
	})
}

// A package-level bulkhead used from one bubble and then another must not
// carry a channel or timer of the first into the second ("select on
// synctest channel from outside bubble" kills the test binary). Bubbles
// that run in parallel and contend for one bulkhead cannot work: a slot
// released in one would have to wake a waiter in the other, which Go
// forbids (see the package doc).
func TestSharedAcrossBubbles(t *testing.T) {
	for range 3 {
		waitInBubble(t)
	}
}
