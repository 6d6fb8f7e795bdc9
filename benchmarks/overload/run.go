package overload

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/retry"
)

// Phase is a stretch of a scenario: open-loop arrivals at Rate a second,
// evenly spaced, on a dependency of Servers servers (0: as it was).
type Phase struct {
	Name     string
	Duration time.Duration
	Rate     float64
	Servers  int
}

// Scenario is a load on a Dependency, phase after phase.
type Scenario struct {
	Name    string
	Phases  []Phase
	Servers int                            // at the start
	Service func(*rand.Rand) time.Duration // one call's service time
	// Deadline is each request's: a request succeeds when its call
	// returns nil within it.
	Deadline time.Duration
}

// Scaled returns s with every phase f times as long.
func (s Scenario) Scaled(f float64) Scenario {
	s.Phases = slices.Clone(s.Phases)
	for i := range s.Phases {
		s.Phases[i].Duration = time.Duration(float64(s.Phases[i].Duration) * f)
	}
	return s
}

// Caller runs one request's calls of the dependency under a contender's
// policies: attempt is one call.
type Caller func(ctx context.Context, attempt func(context.Context) error) error

// Contender is a way to call a dependency: Build makes a fresh one for
// each run.
type Contender struct {
	Name  string
	Build func() Instance
}

// Instance is one contender built for one run.
type Instance struct {
	Call  Caller
	Limit func() int   // its concurrency limit now; nil when it has none
	Retry *retry.Retry // ours: its retries are counted in each Bin
	Hedge *hedge.Hedge // ours: its hedges are counted in each Bin
}

// Bin is one second of a run.
type Bin struct {
	At        time.Duration   `json:"at_s"`      // its start, since the run's
	Offered   int             `json:"offered"`   // requests that arrived in it
	Attempts  int             `json:"attempts"`  // calls that reached the dependency in it
	Succeeded int             `json:"succeeded"` // of the requests that arrived in it, those that succeeded within their deadline
	Limit     int             `json:"limit"`     // the contender's limit at its end; 0 if it has none
	Retries   int             `json:"retries"`   // ours: retries (or hedges) made in it
	Servers   int             `json:"servers"`   // the dependency's capacity at its end
	latencies []time.Duration // of the successful requests that arrived in it
}

// Run is what one contender did in one scenario.
type Run struct {
	Scenario  string `json:"scenario"`
	Contender string `json:"contender"`
	Bins      []Bin  `json:"bins"`
}

// binWidth is the resolution of a run's timeline.
const binWidth = time.Second

// Attempt makes the attempt func of a run from the dependency it loads:
// a direct call, or one over HTTP.
type Attempt func(d *Dependency) (attempt func(context.Context) error, stop func())

// Direct calls the dependency in the process.
func Direct(d *Dependency) (func(context.Context) error, func()) { return d.Call, func() {} }

// Play runs the scenario with contender c, each attempt made by at
// (Direct, or HTTP), and returns its timeline.
func (s Scenario) Play(c Contender, at Attempt) Run {
	var total time.Duration
	for _, p := range s.Phases {
		total += p.Duration
	}
	dep := NewDependency(s.Servers, 0)
	dep.SetService(s.Service)
	attempt, stopAttempt := at(dep)
	in := c.Build()
	call, limit := in.Call, in.Limit
	bins := make([]Bin, int((total+binWidth-1)/binWidth))
	for i := range bins {
		bins[i].At = time.Duration(i) * binWidth
	}

	var mu sync.Mutex
	var requests sync.WaitGroup
	start := time.Now()
	sampled := make(chan struct{})
	go func() { // at the end of each bin: attempts so far, the limit, the capacity
		defer close(sampled)
		var before int64
		var extraBefore uint64
		extra := func() uint64 {
			switch {
			case in.Retry != nil:
				return in.Retry.Stats().Retries
			case in.Hedge != nil:
				return in.Hedge.Stats().Hedges
			}
			return 0
		}
		for i := range bins {
			time.Sleep(time.Until(start.Add(time.Duration(i+1) * binWidth)))
			n := dep.Attempts.Load()
			mu.Lock()
			bins[i].Attempts = int(n - before)
			bins[i].Servers = dep.Servers()
			if limit != nil {
				bins[i].Limit = limit()
			}
			x := extra()
			bins[i].Retries = int(x - extraBefore)
			mu.Unlock()
			before, extraBefore = n, x
		}
	}()

	var phaseStart time.Duration
	for _, p := range s.Phases {
		if p.Servers > 0 {
			dep.SetServers(p.Servers)
		}
		gap := time.Duration(float64(time.Second) / p.Rate)
		for at := phaseStart; at < phaseStart+p.Duration; at += gap {
			if wait := time.Until(start.Add(at)); wait > 0 {
				time.Sleep(wait)
			}
			bin := int(at / binWidth)
			requests.Add(1)
			go func() {
				defer requests.Done()
				sent := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), s.Deadline)
				err := call(ctx, attempt)
				took := time.Since(sent)
				cancel()
				mu.Lock()
				bins[bin].Offered++
				if err == nil && took <= s.Deadline {
					bins[bin].Succeeded++
					bins[bin].latencies = append(bins[bin].latencies, took)
				}
				mu.Unlock()
			}()
		}
		phaseStart += p.Duration
	}
	requests.Wait()
	<-sampled
	stopAttempt()
	dep.Stop()
	return Run{Scenario: s.Name, Contender: c.Name, Bins: bins}
}

// PlayAll plays every contender at once, each on a dependency of its
// own, for a run in real time that takes as long as the scenario.
func (s Scenario) PlayAll(cs []Contender, at Attempt) []Run {
	runs := make([]Run, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { runs[i] = s.Play(c, at) })
	}
	wg.Wait()
	return runs
}

// Window is the part of a run from From to To (since its start): the
// bins that start in it.
type Window struct{ From, To time.Duration }

func (r Run) bins(w Window) []Bin {
	var out []Bin
	for _, b := range r.Bins {
		if b.At >= w.From && b.At < w.To {
			out = append(out, b)
		}
	}
	return out
}

// Goodput is the requests a second that arrived in w and succeeded
// within their deadline.
func (r Run) Goodput(w Window) float64 {
	n, bins := 0, r.bins(w)
	for _, b := range bins {
		n += b.Succeeded
	}
	return float64(n) / (time.Duration(max(len(bins), 1)) * binWidth).Seconds()
}

// Amplification is the calls that reached the dependency in w over the
// requests that arrived in it.
func (r Run) Amplification(w Window) float64 {
	var attempts, offered int
	for _, b := range r.bins(w) {
		attempts += b.Attempts
		offered += b.Offered
	}
	return float64(attempts) / float64(max(offered, 1))
}

// Quantile is the q-quantile of the latency of the successful requests
// that arrived in w.
func (r Run) Quantile(w Window, q float64) time.Duration {
	var all []time.Duration
	for _, b := range r.bins(w) {
		all = append(all, b.latencies...)
	}
	if len(all) == 0 {
		return 0
	}
	slices.Sort(all)
	return all[min(len(all)-1, int(q*float64(len(all))))]
}

// Recovery is how long after from goodput was back to at least
// threshold a second and stayed there for three seconds running; -1 if
// it never was.
func (r Run) Recovery(from time.Duration, threshold float64) time.Duration {
	run := 0
	for _, b := range r.Bins {
		if b.At < from {
			continue
		}
		if float64(b.Succeeded)/binWidth.Seconds() >= threshold {
			run++
			if run == 3 {
				return b.At - 2*binWidth - from
			}
		} else {
			run = 0
		}
	}
	return -1
}

// LimitRange is the lowest and highest limit at the ends of the bins of w.
func (r Run) LimitRange(w Window) (lo, hi int) {
	lo = 1 << 30
	for _, b := range r.bins(w) {
		lo, hi = min(lo, b.Limit), max(hi, b.Limit)
	}
	return lo, hi
}
