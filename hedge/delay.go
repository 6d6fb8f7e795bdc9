package hedge

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/poolwait"
)

// latencies learns an adaptive delay: the Quantile of recent attempt
// durations, every attempt counted, cancelled losers included.
//
// A loser's duration is censored: it says only that the attempt would have
// taken at least that long. Leaving losers out, as an estimator fed by the
// winners does, drops exactly the slow attempts that hedging cuts short, so
// the quantile drifts down, more hedges fire, and the load feeds on itself.
// Counting a loser's duration as if it were complete drifts the same way,
// more slowly. latencies uses the Kaplan–Meier estimator instead, which
// keeps a censored sample "at risk" up to its duration and then lets it
// leave without counting as an event; the quantile is the first duration at
// which the estimated share of attempts done reaches Quantile. If censoring
// hides the quantile (every slow attempt was cut short), the delay is the
// longest duration seen, which only delays hedging.
//
// Samples are counted in poolwait's buckets (one eighth of an octave
// wide), in two windows of windowSamples attempts: the estimate covers the
// last windowSamples to 2×windowSamples attempts. The delay is the bucket's
// geometric middle, within poolwait.QuantileError (6.1%) of a duration in
// it, and is worked out again every recomputeEvery samples. Memory: two
// windows of 2 × poolwait.NumBuckets counters of 4 bytes, 3.4 kB, and the
// struct; a rotation allocates one window.
type latencies struct {
	q     float64
	cur   atomic.Pointer[window]
	n     atomic.Int64 // samples in cur
	seen  atomic.Int64 // samples ever, up to Warmup
	delay atomic.Int64 // ns; 0: not learned yet

	mu   sync.Mutex // rotation and recomputation
	prev *window
}

const (
	windowSamples  = 1000
	recomputeEvery = 64
)

type window struct {
	events, censored [poolwait.NumBuckets]atomic.Uint32
}

func newLatencies(q float64) *latencies {
	l := &latencies{q: q, prev: new(window)}
	l.cur.Store(new(window))
	return l
}

// observe counts one attempt that took d: complete, or censored (cut short
// by our cancellation, or by the caller's).
func (l *latencies) observe(d time.Duration, censored bool) {
	w, b := l.cur.Load(), poolwait.BucketOf(d)
	if censored {
		w.censored[b].Add(1)
	} else {
		w.events[b].Add(1)
	}
	n := l.n.Add(1)
	warmedUp := false
	if l.seen.Load() < Warmup {
		warmedUp = l.seen.Add(1) == Warmup // this sample completes the warm-up
	}
	if n%recomputeEvery == 0 || n >= windowSamples || warmedUp {
		l.recompute()
	}
}

// current returns the delay to hedge after, or 0 until Warmup samples.
func (l *latencies) current() time.Duration { return time.Duration(l.delay.Load()) }

func (l *latencies) recompute() {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.cur.Load()
	if l.n.Load() >= windowSamples {
		l.prev = cur
		l.cur.Store(new(window))
		l.n.Store(0)
	}
	if l.seen.Load() < Warmup {
		return
	}
	l.delay.Store(int64(kaplanMeier(l.q, l.prev, cur)))
}

// kaplanMeier returns the q-quantile of the samples of windows, censored
// ones counted as at least their bucket's lower bound.
func kaplanMeier(q float64, windows ...*window) time.Duration {
	var events, censored [poolwait.NumBuckets]float64
	atRisk := 0.0
	for _, w := range windows {
		for b := range events {
			e, c := float64(w.events[b].Load()), float64(w.censored[b].Load())
			events[b] += e
			censored[b] += c
			atRisk += e + c
		}
	}
	survival, last := 1.0, -1
	for b := range events {
		if events[b]+censored[b] > 0 {
			last = b
		}
		if events[b] > 0 && atRisk > 0 {
			survival *= 1 - events[b]/atRisk
			if 1-survival >= q {
				return middle(b)
			}
		}
		atRisk -= events[b] + censored[b]
	}
	if last < 0 {
		return 0
	}
	return middle(last)
}

// middle is the geometric middle of poolwait bucket b.
func middle(b int) time.Duration {
	lo, hi := float64(poolwait.BucketLowerBound(b)), float64(poolwait.BucketUpperBound(b))
	switch {
	case b == 0:
		return poolwait.BucketUpperBound(0)
	case b == poolwait.NumBuckets-1:
		return poolwait.BucketLowerBound(b)
	}
	return time.Duration(math.Sqrt(lo * hi))
}
