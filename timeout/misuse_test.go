package timeout_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/timeout"
)

// A zero Timeout has no duration: it used to end every call at once with
// a deadline of 0s; now it says what is wrong and does not call fn.
func TestZeroTimeoutIsAnError(t *testing.T) {
	var z timeout.Timeout
	err := z.Do(t.Context(), func(context.Context) error {
		t.Error("fn ran under a zero Timeout")
		return nil
	})
	assert.EqualError(t, err, "timeout: Timeout not created with New")
	assert.Equal(t, timeout.Stats{}, z.Stats())
}

// fn that wraps its ctx's cause (as database drivers and HTTP clients
// often do) gets its own error back, matching ErrExceeded, with our
// deadline named once.
func TestFnWrappingOurCauseIsNotWrappedTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := timeout.MustNew(timeout.Config{Name: "payments-attempt", Duration: 500 * time.Millisecond})
		err := tm.Do(t.Context(), func(ctx context.Context) error {
			<-ctx.Done()
			return fmt.Errorf("charge: %w", context.Cause(ctx))
		})
		require.ErrorIs(t, err, timeout.ErrExceeded)
		assert.EqualError(t, err, `charge: timeout "payments-attempt": deadline of 500ms exceeded`)
		assert.Equal(t, uint64(1), tm.Stats().Exceeded)
	})
}

// shared is declared at package level and used by one bubble after
// another, in both modes: nothing of one call (its cause, its goroutine,
// its channel) reaches the next bubble.
var (
	sharedCoop    = timeout.MustNew(timeout.Config{Name: "coop", Duration: 100 * time.Millisecond})
	sharedAbandon = timeout.MustNew(timeout.Config{Name: "abandon", Duration: 100 * time.Millisecond, Abandon: true})
)

func TestSharedAcrossBubbles(t *testing.T) {
	for range 3 {
		synctest.Test(t, func(t *testing.T) {
			for _, tm := range []*timeout.Timeout{sharedCoop, sharedAbandon} {
				assert.NoError(t, tm.Do(t.Context(), func(context.Context) error { return nil }))
				err := tm.Do(t.Context(), func(ctx context.Context) error {
					<-ctx.Done()
					return ctx.Err()
				})
				assert.ErrorIs(t, err, timeout.ErrExceeded)
			}
			synctest.Wait() // the abandoned call has returned
		})
	}
}
