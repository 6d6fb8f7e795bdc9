package adaptive

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/watertight-go/watertight/internal/durations"
)

// AIMDConfig configures AIMD. The zero value is valid.
type AIMDConfig struct {
	// Initial is the limit before the first sample. Zero: 20.
	Initial int
	// Min and Max bound the limit. Zero: 1 and 1000.
	Min, Max int
	// Backoff multiplies the limit on a sign of overload, in (0, 1).
	// Zero: 0.9.
	Backoff float64
	// Timeout is the RTT above which a call is a sign of overload. Zero:
	// 5 s. Set it a few times above the dependency's healthy latency.
	Timeout time.Duration
}

// aimd is additive increase, multiplicative decrease: TCP's congestion
// control, and Netflix's AIMDLimit.
type aimd struct {
	cfg          AIMDConfig
	mu           sync.Mutex
	limit        float64
	lastDecrease time.Duration // when the limit was last lowered: calls that started before say nothing new
	decreased    bool          // lastDecrease is set
}

// AIMD returns a Limit that lowers itself by Backoff on a Dropped sample or
// one slower than Timeout — once per round trip, as TCP does: calls that
// started before the last decrease do not lower it again — and raises
// itself by one for every limit's worth of calls that found it nearly used
// (at least half of it in flight) and succeeded in time.
// It is simple and sure, but it learns overload only from drops or from a
// timeout the caller chooses; Gradient learns it from latency.
func AIMD(cfg AIMDConfig) (Limit, error) {
	c, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	return &aimd{cfg: c, limit: float64(c.Initial)}, nil
}

func (c AIMDConfig) settings() (AIMDConfig, error) {
	if err := durations.First(bounds("AIMDConfig", c.Initial, c.Min, c.Max), durations.Check("adaptive", "AIMDConfig.Timeout", c.Timeout)); err != nil {
		return c, err
	}
	switch {
	case math.IsNaN(c.Backoff) || c.Backoff < 0 || c.Backoff >= 1:
		return c, fmt.Errorf("adaptive: AIMDConfig.Backoff must be in (0, 1), got %v", c.Backoff)
	}
	c.Initial, c.Min, c.Max = defaults(c.Initial, c.Min, c.Max)
	if c.Backoff == 0 {
		c.Backoff = 0.9
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	return c, nil
}

func (a *aimd) Observe(s Sample) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case s.Dropped || s.RTT > a.cfg.Timeout:
		// Starts may be negative (a synctest bubble's clock is): the
		// first decrease is not compared with the zero lastDecrease.
		if !a.decreased || s.Start >= a.lastDecrease {
			a.limit = max(float64(a.cfg.Min), a.limit*a.cfg.Backoff)
			a.lastDecrease, a.decreased = s.Start+s.RTT, true
		}
	case 2*s.InFlight >= int(a.limit):
		a.limit = min(float64(a.cfg.Max), a.limit+float64(s.weight())/a.limit)
	}
	return int(a.limit)
}

// bounds checks Initial, Min and Max of who's config.
func bounds(who string, initial, lo, hi int) error {
	switch {
	case initial < 0:
		return fmt.Errorf("adaptive: %s.Initial must be >= 0, got %d", who, initial)
	case lo < 0:
		return fmt.Errorf("adaptive: %s.Min must be >= 0, got %d", who, lo)
	case hi < 0:
		return fmt.Errorf("adaptive: %s.Max must be >= 0, got %d", who, hi)
	case hi > MaxLimit || initial > MaxLimit || lo > MaxLimit:
		return fmt.Errorf("adaptive: %s.Initial, Min and Max must be at most %d, got %d, %d, %d", who, MaxLimit, initial, lo, hi)
	}
	i, l, h := defaults(initial, lo, hi)
	if l > h || i < l || i > h {
		return fmt.Errorf("adaptive: %s needs Min <= Initial <= Max, got %d, %d, %d (zero fields at their defaults)", who, l, i, h)
	}
	return nil
}

func defaults(initial, lo, hi int) (int, int, int) {
	if initial == 0 {
		initial = DefaultInitial
	}
	if lo == 0 {
		lo = DefaultMin
	}
	if hi == 0 {
		hi = DefaultMax
	}
	return initial, lo, hi
}

// Initial returns AIMDConfig.Initial: where a bulkhead starts.
func (a *aimd) Initial() int { return a.cfg.Initial }
