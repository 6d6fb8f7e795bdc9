package breaker_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/breaker"
)

// The zero Breaker works like New(Config{}), also when its first calls
// come from many goroutines at once (it used to dereference a nil period).
func TestZeroBreakerIsReady(t *testing.T) {
	var b breaker.Breaker
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				_ = b.Do(t.Context(), func(context.Context) error { return errDown })
				done, err := b.Allow()
				if err == nil {
					done(errDown)
				}
				_ = b.State()
				_ = b.Stats()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, breaker.Open, b.State(), "the zero Config's defaults: 20 calls at 50% failures trip it")
	b.Reset()
	assert.Equal(t, breaker.Closed, b.State())

	var fresh breaker.Breaker
	fresh.Reset()
	assert.Equal(t, breaker.Closed, fresh.State())
	assert.Equal(t, "", fresh.Name())
}

func TestDoWithNilFnIsAnError(t *testing.T) {
	b := breaker.MustNew(breaker.Config{})
	assert.EqualError(t, b.Do(t.Context(), nil), "breaker: Do called with a nil fn")
}

// shared is declared once at package level, the way a service declares its
// breakers, and used by one synctest bubble after another.
var shared = breaker.MustNew(breaker.Config{Name: "shared", WindowCalls: 4, MinCalls: 4})

func TestSharedAcrossBubbles(t *testing.T) {
	for range 3 {
		synctest.Test(t, func(t *testing.T) {
			shared.Reset()
			for range 4 {
				_ = shared.Do(t.Context(), func(ctx context.Context) error {
					<-time.After(time.Millisecond)
					return errDown
				})
			}
			require.Equal(t, breaker.Open, shared.State())
			assert.ErrorIs(t, shared.Do(t.Context(), func(context.Context) error { return nil }), breaker.ErrOpen)
		})
	}
}

// A brownout: most calls slow, a few fast (cache hits). With the old
// default SlowCallRate of 1.0 one fast call per window kept the breaker
// closed for ever; the default is now 0.5, like FailureRate.
func TestDefaultSlowCallRateTripsOnAMostlySlowWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.MustNew(breaker.Config{WindowCalls: 10, SlowCall: 400 * time.Millisecond})
		run(b, 1, nil, time.Millisecond) // a cache hit
		run(b, 3, nil, 450*time.Millisecond)
		run(b, 1, nil, time.Millisecond)
		assert.Equal(t, breaker.Closed, b.State(), "not yet MinCalls (10) calls")
		run(b, 5, nil, 450*time.Millisecond) // 8 of 10 slow, every call succeeded
		assert.Equal(t, breaker.Open, b.State())
	})
}
