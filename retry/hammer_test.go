package retry_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/retry"
)

// Many goroutines through one Retry, with successes, failures, panics,
// permanent errors, cancellations and deadlines mixed in: afterwards no
// goroutine is left (goleak), and every count adds up.
func TestHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := budget.MustNew(budget.Config{})
		r := retry.MustNew(retry.Config{Budget: b, MaxAttempts: 4})
		var calls, attempts, panics atomic.Int64
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 7))
				for range 200 {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(300))*time.Millisecond)
					if rng.IntN(10) == 0 {
						time.AfterFunc(time.Duration(rng.IntN(100))*time.Millisecond, cancel)
					}
					calls.Add(1)
					func() {
						defer func() {
							if recover() != nil {
								panics.Add(1)
							}
						}()
						_ = r.Do(ctx, func(ctx context.Context) error {
							attempts.Add(1)
							<-time.After(time.Duration(rng.IntN(20)) * time.Millisecond)
							switch rng.IntN(10) {
							case 0:
								panic("boom")
							case 1:
								return retry.Permanent(errors.New("bad request"))
							case 2, 3, 4:
								return errDown
							}
							return ctx.Err()
						})
					}()
					cancel()
				}
			})
		}
		wg.Wait()
		st := r.Stats()
		assert.Equal(t, uint64(calls.Load()), st.Calls)
		assert.Equal(t, uint64(attempts.Load()), st.Attempts)
		assert.Positive(t, panics.Load())
		bs := b.Stats()
		assert.Equal(t, st.Calls, bs.Deposits)
		assert.GreaterOrEqual(t, bs.Withdrawn, st.Retries)
		assert.LessOrEqual(t, bs.Withdrawn-st.Retries, st.GaveUp.Deadline, "a withdrawal without its retry: the ctx ended during the wait")
		assert.LessOrEqual(t, st.Recovered+st.GaveUp.Attempts+st.GaveUp.Budget+st.GaveUp.Deadline, st.Calls)
	})
}
