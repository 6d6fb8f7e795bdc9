package adaptive_test

import (
	"container/heap"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watertight-go/watertight/adaptive"
)

// phase is a stretch of a scenario: the dependency serves servers calls at
// once at base latency each; more wait inside it, first in, first out.
type phase struct {
	d       time.Duration
	servers int
	base    time.Duration
}

// slice is what one tenth of a second of a scenario looked like.
type slice struct {
	at      time.Duration // its end
	limit   int           // at its end
	served  int           // calls that completed in it
	p99     time.Duration // of the calls that completed in it
	servers int
}

// simulate runs a discrete-event simulation, in virtual time, of a
// bulkhead whose limit is l (clamped to [1, ceiling]) in front of a
// dependency that follows phases, under open-loop arrivals at rate a
// second, evenly spaced; an arrival that finds the bulkhead full is
// refused. Each finished call is a Sample for l. It is exact and
// deterministic: nothing waits, so a 30-minute scenario takes about a
// second.
func simulate(l adaptive.Limit, ceiling int, rate float64, phases []phase) []slice {
	s := &simState{l: l, ceiling: ceiling, limit: min(ceiling, adaptive.DefaultInitial)}
	gap := time.Duration(float64(time.Second) / rate)
	var end time.Duration
	for _, p := range phases {
		end += p.d
	}
	s.phases, s.phaseEnd = phases, phases[0].d
	s.servers, s.base = phases[0].servers, phases[0].base
	nextArrival, nextSlice := time.Duration(0), 100*time.Millisecond
	var out []slice
	for s.now < end {
		// The next event: an arrival, a completion, or the end of a slice.
		t := min(nextArrival, nextSlice)
		if len(s.done) > 0 && s.done[0].end < t {
			t = s.done[0].end
		}
		s.now = t
		for s.now >= s.phaseEnd && len(s.phases) > 1 {
			s.phases = s.phases[1:]
			s.servers, s.base = s.phases[0].servers, s.phases[0].base
			s.phaseEnd += s.phases[0].d
			s.startWaiting()
		}
		switch {
		case len(s.done) > 0 && s.done[0].end == t:
			s.complete(heap.Pop(&s.done).(*job))
		case t == nextSlice:
			out = append(out, slice{at: t, limit: s.limit, served: s.served, p99: p99(s.latencies), servers: s.servers})
			s.served, s.latencies = 0, s.latencies[:0]
			nextSlice += 100 * time.Millisecond
		default:
			if s.inFlight < s.limit {
				s.admit()
			}
			nextArrival += gap
			if s.inFlight >= s.limit {
				// Arrivals are refused until a call completes: jump to the
				// first arrival after the next completion.
				if len(s.done) > 0 && s.done[0].end > nextArrival {
					nextArrival += (s.done[0].end - nextArrival + gap - 1) / gap * gap
				}
			}
		}
	}
	return out
}

type job struct {
	start, end time.Duration
	inFlight   int
}

type simState struct {
	l                        adaptive.Limit
	ceiling, limit, inFlight int
	now                      time.Duration
	phases                   []phase
	phaseEnd                 time.Duration
	servers, busy            int
	base                     time.Duration
	waiting                  []*job
	done                     jobs
	served                   int
	latencies                []time.Duration
}

func (s *simState) admit() {
	s.inFlight++
	j := &job{start: s.now, inFlight: s.inFlight}
	s.waiting = append(s.waiting, j)
	s.startWaiting()
}

// startWaiting starts the waiting calls that a free server can take.
func (s *simState) startWaiting() {
	for len(s.waiting) > 0 && s.busy < s.servers {
		j := s.waiting[0]
		s.waiting = s.waiting[1:]
		s.busy++
		j.end = s.now + s.base
		heap.Push(&s.done, j)
	}
}

func (s *simState) complete(j *job) {
	s.busy--
	s.inFlight--
	rtt := s.now - j.start
	s.served++
	s.latencies = append(s.latencies, rtt)
	s.limit = min(s.ceiling, max(1, s.l.Observe(adaptive.Sample{Start: j.start, RTT: rtt, InFlight: j.inFlight})))
	s.startWaiting()
}

// jobs is a min-heap of running calls by end.
type jobs []*job

func (h jobs) Len() int           { return len(h) }
func (h jobs) Less(i, j int) bool { return h[i].end < h[j].end }
func (h jobs) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobs) Push(x any)        { *h = append(*h, x.(*job)) }
func (h *jobs) Pop() any {
	old := *h
	j := old[len(old)-1]
	*h = old[:len(old)-1]
	return j
}

func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// settle returns how long after from the limit first stayed within [lo, hi]
// until to, or -1 if it never did. A probe — Gradient halving its limit for
// one window, about every 30 s at a random moment, to measure the no-load
// latency — may show in one slice as a dip to no less than half the band's
// bottom, back in the band at the next slice: that is the algorithm
// working, not leaving the band, and does not restart the count.
func settle(run []slice, from, to time.Duration, lo, hi int) time.Duration {
	settled := time.Duration(-1)
	for i, s := range run {
		if s.at <= from || s.at > to {
			continue
		}
		in := s.limit >= lo && s.limit <= hi
		probe := !in && s.limit >= lo/2-1 && s.limit < lo && i+1 < len(run) && run[i+1].limit >= lo && run[i+1].limit <= hi
		switch {
		case in && settled < 0:
			settled = s.at - from
		case !in && !probe:
			settled = -1
		}
	}
	return settled
}

// between returns the slices in (from, to].
func between(run []slice, from, to time.Duration) []slice {
	var out []slice
	for _, s := range run {
		if s.at > from && s.at <= to {
			out = append(out, s)
		}
	}
	return out
}

// summary describes slices: the limit's range and mean, goodput a second,
// and the worst slice p99.
func summary(ss []slice) (lo, hi int, mean, goodput float64, worstP99 time.Duration) {
	lo, hi = 1<<30, 0
	total := 0
	for _, s := range ss {
		lo, hi = min(lo, s.limit), max(hi, s.limit)
		mean += float64(s.limit)
		total += s.served
		worstP99 = max(worstP99, s.p99)
	}
	mean /= float64(len(ss))
	goodput = float64(total) / (float64(len(ss)) / 10)
	return lo, hi, mean, goodput, worstP99
}

// trace prints the limit every second, for the test log.
func trace(run []slice, from, to time.Duration, every time.Duration) string {
	var b strings.Builder
	for _, s := range run {
		if s.at > from && s.at <= to && s.at%every == 0 {
			fmt.Fprintf(&b, " %v:%d", s.at.Truncate(time.Second), s.limit)
		}
	}
	return b.String()
}
