package hedge

import (
	"fmt"
	"math"
	"time"

	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/internal/durations"
	"github.com/watertight-go/watertight/retry"
)

// Defaults, and why.
const (
	// DefaultQuantile hedges the calls slower than 95% of the others:
	// "The Tail at Scale" found that hedging after the p95 costs about 5%
	// more load.
	DefaultQuantile = 0.95
	// DefaultRatio is the budget of a Hedge with none of its own: hedges
	// at most 10% of the calls, twice what the p95 delay should need.
	DefaultRatio = 0.1
	// MaxHedgesLimit bounds MaxHedges: more than four extra copies of a
	// call is load, not latency.
	MaxHedgesLimit = 4
	// Warmup is how many attempts an adaptive delay sees before it hedges
	// on time; until then only a retryable failure starts a hedge.
	Warmup = 100
)

// Config configures a Hedge. The zero value is valid: an adaptive delay at
// the p95 of recent attempts, one hedge at most, a budget of 10% of the
// calls.
type Config struct {
	// Name identifies the hedge in metrics. Empty: "".
	Name string

	// Delay is how long to wait before each hedge. Zero: adaptive, the
	// Quantile of recent attempt durations (see the package doc).
	Delay time.Duration

	// Quantile is the quantile of recent attempt durations that an
	// adaptive delay follows, in (0, 1); setting it with a Delay is an
	// error. Zero: 0.95.
	Quantile float64

	// MaxHedges is how many extra attempts one call may make, at most 4.
	// Zero: 1.
	MaxHedges int

	// Budget limits the hedges to a share of the calls; share the one the
	// dependency's retry.Retry uses. Nil: a budget of this Hedge's own,
	// with Ratio 0.1 and budget's default MinPerSecond.
	Budget *budget.Budget

	// IsRetryable reports the errors after which a failed attempt starts
	// the next hedge at once. Nil: retry's default rules (retry.Retryable).
	IsRetryable func(error) bool
}

func (c Config) settings() (Config, error) {
	if err := durations.Check("hedge", "Config.Delay", c.Delay); err != nil {
		return c, err
	}
	switch {
	case math.IsNaN(c.Quantile) || c.Quantile < 0 || c.Quantile >= 1:
		return c, fmt.Errorf("hedge: Config.Quantile must be in (0, 1), got %v", c.Quantile)
	case c.Quantile != 0 && c.Delay > 0:
		return c, fmt.Errorf("hedge: Config.Quantile (%v) is set with a fixed Config.Delay (%v); set one of them", c.Quantile, c.Delay)
	case c.MaxHedges < 0 || c.MaxHedges > MaxHedgesLimit:
		return c, fmt.Errorf("hedge: Config.MaxHedges must be in 0..%d (0: 1), got %d", MaxHedgesLimit, c.MaxHedges)
	}
	if c.Quantile == 0 {
		c.Quantile = DefaultQuantile
	}
	if c.MaxHedges == 0 {
		c.MaxHedges = 1
	}
	if c.Budget == nil {
		c.Budget = budget.MustNew(budget.Config{Name: c.Name, Ratio: DefaultRatio})
	}
	if c.IsRetryable == nil {
		c.IsRetryable = retry.Retryable
	}
	return c, nil
}
