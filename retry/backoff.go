package retry

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// defaultBackoff is cenkalti/backoff's exponential schedule, without its
// own randomisation and with no end, under full jitter.
func defaultBackoff() backoff.BackOff {
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(DefaultInitialDelay),
		backoff.WithMultiplier(DefaultMultiplier),
		backoff.WithMaxInterval(DefaultMaxBackoff),
		backoff.WithRandomizationFactor(0),
		backoff.WithMaxElapsedTime(0),
	)
	return &fullJitter{next: exp}
}

// fullJitter draws each wait uniformly from [0, d], d the wrapped
// BackOff's: "Exponential Backoff And Jitter" (AWS) found it spreads
// clients that failed together best, for the least total wait.
type fullJitter struct{ next backoff.BackOff }

func (j *fullJitter) NextBackOff() time.Duration {
	d := j.next.NextBackOff()
	if d <= 0 { // backoff.Stop, or no wait at all
		return d
	}
	return rand.N(d + 1)
}

func (j *fullJitter) Reset() { j.next.Reset() }

// hintDelay is a Retry-After hint plus up to 10% of it at random, so that
// a fleet told to come back in 30 s does not come back in the same
// millisecond. It saturates instead of overflowing: a hint near the
// largest Duration stays the largest (and MaxDelay caps it after).
func hintDelay(hint time.Duration) time.Duration {
	if hint <= 0 {
		return 0
	}
	jitter := rand.N(hint/10 + 1)
	if hint > math.MaxInt64-jitter {
		return math.MaxInt64
	}
	return hint + jitter
}
