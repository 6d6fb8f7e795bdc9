package budget

import (
	"fmt"
	"math"
	"time"
)

// Defaults, and why. They are Finagle's and Linkerd's retry budget: 20% of
// requests plus 10 retries a second, over 10 seconds. The SRE book's
// figure for such a budget: retries under 10–20% of requests hold the load
// on a failing dependency to about 1.1–1.2× instead of the ~3× that three
// attempts per request give.
const (
	// DefaultRatio lets one extra attempt go out for every five requests.
	DefaultRatio = 0.2
	// DefaultMinPerSecond keeps retries possible when there is little
	// traffic: a service that makes two requests a minute can still retry.
	DefaultMinPerSecond = 10
	// DefaultWindow is how long a request's deposit may be spent.
	DefaultWindow = 10 * time.Second

	// MaxRatio bounds Ratio: more than ten extra attempts per request is
	// no budget.
	MaxRatio = 10
	// MinWindow and MaxWindow bound Window.
	MinWindow = time.Second
	MaxWindow = time.Minute
	// MaxMinPerSecond bounds MinPerSecond: a billion extra attempts a
	// second is no budget at all, and far more would overflow the count of
	// a Window.
	MaxMinPerSecond = 1_000_000_000
)

// Config configures a Budget. The zero value is valid: Finagle's budget,
// 20% of requests plus 10 extra attempts a second, over 10 seconds.
type Config struct {
	// Name identifies the budget in metrics. Empty: "".
	Name string

	// Ratio is how many extra attempts (retries, hedges) each request
	// allows: 0.2 is one for every five requests. Must be in (0, 10].
	// Zero: 0.2.
	Ratio float64

	// MinPerSecond is how many extra attempts a second are allowed on top
	// of the ratio, so that a dependency called rarely can still be
	// retried: over any Window, MinPerSecond × Window of them, available
	// from the start. At most MaxMinPerSecond. Zero: 10. Negative: none;
	// only the ratio counts.
	MinPerSecond float64

	// Window is how long a request's deposit can be spent, and the span
	// over which the budget holds. 1 s to 60 s. Zero: 10 s.
	Window time.Duration
}

func (c Config) settings() (Config, error) {
	switch {
	case math.IsNaN(c.Ratio) || c.Ratio < 0 || c.Ratio > MaxRatio:
		return c, fmt.Errorf("budget: Config.Ratio must be in (0, %d], got %v", MaxRatio, c.Ratio)
	case math.IsNaN(c.MinPerSecond) || c.MinPerSecond > MaxMinPerSecond:
		return c, fmt.Errorf("budget: Config.MinPerSecond must be at most %d (negative: none), got %v", MaxMinPerSecond, c.MinPerSecond)
	case c.Window < 0 || (c.Window > 0 && (c.Window < MinWindow || c.Window > MaxWindow)):
		return c, fmt.Errorf("budget: Config.Window must be 0 or in [%v, %v], got %v", MinWindow, MaxWindow, c.Window)
	}
	if c.Ratio == 0 {
		c.Ratio = DefaultRatio
	}
	switch {
	case c.MinPerSecond == 0:
		c.MinPerSecond = DefaultMinPerSecond
	case c.MinPerSecond < 0:
		c.MinPerSecond = 0
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	return c, nil
}
