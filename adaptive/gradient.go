package adaptive

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/watertight-go/watertight/internal/durations"
)

// GradientConfig configures Gradient. The zero value is valid.
type GradientConfig struct {
	// Initial is the limit before the first sample. Zero: 20.
	Initial int
	// Min and Max bound the limit. Zero: 1 and 1000.
	Min, Max int

	// Tolerance is how many times the no-load latency a window's mean
	// latency may be before the limit shrinks; at least 1. Zero: 1.05.
	// Netflix's Gradient2 uses 1.5, which holds the limit at about 1.5×
	// the dependency's capacity; 1.05 holds it at the capacity, plus the
	// queue below.
	Tolerance float64
	// QueueSize is the standing queue kept on purpose, so that the
	// dependency never idles between calls: the limit settles at about
	// its capacity plus QueueSize. Zero: 4, as Gradient2's.
	QueueSize int
	// Smoothing is the share of each new estimate taken into the limit,
	// in (0, 1]. Zero: 0.2, as Gradient2's.
	Smoothing float64

	// ProbeInterval is how often the no-load latency is measured again,
	// by halving the limit for one window, give or take 25% at random so
	// that a fleet does not probe in step. Zero: 30 s.
	ProbeInterval time.Duration
	// MaxHealthyRTT, if set, is a mean latency above which the limit
	// always shrinks, whatever the no-load latency says: a dependency that
	// is slow at every load is shed to Min. Zero: none.
	MaxHealthyRTT time.Duration
}

// Gradient returns a Limit that follows the dependency's capacity from the
// latency its calls see: Netflix's Gradient2 and Vegas, with the guards
// they lack (see the package doc).
func Gradient(cfg GradientConfig) (Limit, error) {
	c, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	g := &gradient{cfg: c, limit: float64(c.Initial), rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	g.probing = true // learn the no-load latency first, at half the initial limit
	g.saved = g.limit
	g.limit = max(float64(c.Min), g.limit/2)
	return g, nil
}

func (c GradientConfig) settings() (GradientConfig, error) {
	if err := durations.First(
		bounds("GradientConfig", c.Initial, c.Min, c.Max),
		durations.Check("adaptive", "GradientConfig.ProbeInterval", c.ProbeInterval),
		durations.Check("adaptive", "GradientConfig.MaxHealthyRTT", c.MaxHealthyRTT),
	); err != nil {
		return c, err
	}
	switch {
	case math.IsNaN(c.Tolerance) || (c.Tolerance != 0 && c.Tolerance < 1):
		return c, fmt.Errorf("adaptive: GradientConfig.Tolerance must be >= 1, got %v", c.Tolerance)
	case c.QueueSize < 0:
		return c, fmt.Errorf("adaptive: GradientConfig.QueueSize must be >= 0, got %d", c.QueueSize)
	case math.IsNaN(c.Smoothing) || c.Smoothing < 0 || c.Smoothing > 1:
		return c, fmt.Errorf("adaptive: GradientConfig.Smoothing must be in (0, 1], got %v", c.Smoothing)
	case c.ProbeInterval > MaxProbeInterval:
		return c, fmt.Errorf("adaptive: GradientConfig.ProbeInterval must be at most %v, got %v", MaxProbeInterval, c.ProbeInterval)
	case c.QueueSize > MaxLimit:
		return c, fmt.Errorf("adaptive: GradientConfig.QueueSize must be at most %d, got %d", MaxLimit, c.QueueSize)
	}
	c.Initial, c.Min, c.Max = defaults(c.Initial, c.Min, c.Max)
	if c.Tolerance == 0 {
		c.Tolerance = 1.05
	}
	if c.QueueSize == 0 {
		c.QueueSize = 4
	}
	if c.Smoothing == 0 {
		c.Smoothing = 0.2
	}
	if c.ProbeInterval == 0 {
		c.ProbeInterval = 30 * time.Second
	}
	return c, nil
}

type gradient struct {
	cfg GradientConfig
	rng *rand.Rand

	mu       sync.Mutex
	limit    float64
	baseline time.Duration // the no-load latency; 0 until measured

	// The window being gathered: about one limit's worth of samples.
	n, inflightPeak int
	start, end      time.Duration
	sum             time.Duration
	dropped         bool

	// A probe: the limit halved, for one window or more, to measure the
	// no-load latency, then restored.
	probing    bool
	saved      float64
	probeFrom  time.Duration // calls that started before the probe are left out of it
	probeAbove time.Duration // the mean latency at the level above this probe's; 0: unknown
	nextProbe  time.Duration
	seen       bool          // a sample came: the first probe has its start
	lastRTT    time.Duration // the mean latency of the last window at the limit

	// The throughput guard: what the last raise of the limit was made
	// from, and how long raises are held after one that did not help.
	raisedFrom, throughputBefore float64
	holdRaises                   int
}

func (g *gradient) Observe(s Sample) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	end := s.Start + s.RTT
	if !g.seen {
		// The first probe starts with the first sample. Starts are
		// readings of a monotonic clock that may be negative (a synctest
		// bubble's is): the first sample, not 0, is where time begins.
		g.seen, g.probeFrom = true, s.Start
	}
	if g.probing && s.Start < g.probeFrom {
		return int(math.Round(g.limit)) // admitted at the old limit: it says nothing of no load
	}
	if g.n == 0 {
		g.start, g.end = s.Start, end
	}
	w := s.weight()
	g.n += w
	g.sum += s.RTT * time.Duration(w)
	g.end = max(g.end, end)
	g.inflightPeak = max(g.inflightPeak, s.InFlight)
	g.dropped = g.dropped || s.Dropped
	if g.n >= max(16, int(g.limit)) {
		g.evaluate()
	}
	return int(math.Round(g.limit))
}

// evaluate ends a window and sets the limit from it.
func (g *gradient) evaluate() {
	c := g.cfg
	rtt := max(g.sum/time.Duration(g.n), minRTT) // an instant call is as fast as we can tell
	span := max(g.end-g.start, time.Microsecond)
	throughput := float64(g.n) / span.Seconds()
	bound := g.inflightPeak >= int(g.limit) // the limit held calls back: the window says something about more
	dropped, now := g.dropped, g.end
	g.n, g.sum, g.inflightPeak, g.dropped = 0, 0, 0, false

	if g.probing {
		// The probe goes down a level at a time, halving the limit, until
		// the latency stops falling with the load: while halving the calls
		// in flight cuts their latency by more than a quarter, they still
		// queue in the dependency (its capacity is below this level). A
		// level the calls did not fill, or the first level of the first
		// probe, has nothing to compare with: the probe goes on down.
		known := g.probeAbove > 0 && bound
		if g.limit > float64(c.Min) && (!known || rtt < g.probeAbove*3/4) {
			g.probeAbove, g.probeFrom = 0, now
			if bound {
				g.probeAbove = rtt
			}
			g.limit = max(float64(c.Min), g.limit/2)
			return
		}
		g.probing = false
		g.baseline = rtt // the latency stopped falling with the load: the no-load latency, now
		g.limit = g.saved
		g.nextProbe = now + time.Duration(float64(c.ProbeInterval)*(0.75+0.5*g.rng.Float64()))
		return
	}
	g.lastRTT = rtt
	if rtt < g.baseline {
		g.baseline = rtt // faster than the no-load latency we had: the dependency got faster
	}
	var next float64
	switch {
	case c.MaxHealthyRTT > 0 && rtt > c.MaxHealthyRTT:
		next = g.limit / 2
	default:
		// The estimate is at least half the limit, so that one window
		// never sheds more than half; but the gradient itself has no
		// floor, so that over a few windows the limit reaches the
		// capacity × Tolerance + QueueSize, however far below the limit
		// that is (a floor of 0.5 on the gradient, as Gradient2's, holds
		// it at 2 × QueueSize or more).
		gradient := min(1, c.Tolerance*float64(g.baseline)/float64(rtt))
		next = max(g.limit/2, g.limit*gradient+float64(c.QueueSize))
	}
	if dropped {
		next = min(next, g.limit*0.9)
	}
	if next > g.limit {
		switch {
		case !bound || g.holdRaises > 0:
			next = g.limit // no evidence that more would be served
			g.holdRaises = max(0, g.holdRaises-1)
		case g.raisedFrom > 0 && g.limit > g.raisedFrom && throughput < g.throughputBefore*1.02:
			// The last raise did not raise throughput: the dependency is
			// full. Hold raises for a while, and try again later (it may
			// recover).
			next, g.holdRaises = g.limit, 8
			g.raisedFrom = 0
		default:
			g.raisedFrom, g.throughputBefore = g.limit, throughput
		}
	}
	g.limit = min(float64(c.Max), max(float64(c.Min), g.limit*(1-c.Smoothing)+next*c.Smoothing))
	if now >= g.nextProbe {
		g.probing, g.saved, g.probeFrom, g.probeAbove = true, g.limit, now, g.lastRTT
		g.limit = max(float64(c.Min), g.limit/2)
	}
}

// minRTT is the shortest mean latency Gradient tells apart: calls faster
// than a microsecond on average are taken as that fast, so that a window
// of instant calls is no division by zero.
const minRTT = time.Microsecond

// Initial returns GradientConfig.Initial: where a bulkhead starts.
func (g *gradient) Initial() int { return g.cfg.Initial }
