package hedge_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/hedge"
)

// IsRetryable is the user's and may panic. On the caller's goroutine (the
// first attempt's error) the panic goes up the caller's stack, and the
// hedges running are cancelled; on a hedge's goroutine it is that
// attempt's panic, which Do re-panics in the caller. Nothing is left
// locked or running either way.
func TestAPanickingIsRetryable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hedge.MustNew(hedge.Config{Delay: 10 * time.Millisecond, Budget: generous(),
			IsRetryable: func(error) bool { panic("classifier") }})
		cancelled := make(chan struct{})
		assert.PanicsWithValue(t, "classifier", func() {
			var calls atomic.Int32
			_ = h.Do(t.Context(), func(ctx context.Context) error {
				if calls.Add(1) == 1 {
					<-time.After(20 * time.Millisecond) // the hedge starts meanwhile
					return errDown
				}
				<-ctx.Done()
				close(cancelled)
				return ctx.Err()
			})
		})
		<-cancelled
		synctest.Wait()
		assert.Zero(t, h.Stats().Running)

		var pe *hedge.PanicError
		func() {
			defer func() { pe, _ = recover().(*hedge.PanicError) }()
			var n atomic.Int32
			_ = h.Do(t.Context(), func(ctx context.Context) error {
				if n.Add(1) == 1 {
					<-ctx.Done() // the first waits; the hedge fails and its classifier panics
					return ctx.Err()
				}
				return errDown
			})
		}()
		require.NotNil(t, pe, "the hedge's classifier panic is re-panicked in the caller")
		assert.Equal(t, "classifier", pe.Value)
		synctest.Wait()
		assert.Zero(t, h.Stats().Running)
	})
}
