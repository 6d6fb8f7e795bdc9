package dashboard

import (
	"time"

	"github.com/watertight-go/watertight/poolwait"
)

// HistoryLength is how many samples the dashboard keeps per instance: one
// a second at most, so 61 cover the last minute. A sample is a few dozen
// bytes plus the wait buckets that changed in its interval.
const HistoryLength = 61

// samplePeriod is the shortest time between two samples of an instance.
const samplePeriod = time.Second

// counters are the cumulative counts behind Rates.
type counters struct {
	calls, failures, rejected, timeouts, retries uint64
}

func (c counters) sub(o counters) counters {
	return counters{c.calls - o.calls, c.failures - o.failures, c.rejected - o.rejected, c.timeouts - o.timeouts, c.retries - o.retries}
}

// bucketCount is one poolwait bucket that grew in an interval.
type bucketCount struct {
	bucket uint8
	n      uint64
}

// sample is an instance's counters at one moment, and the waits recorded
// since the sample before it.
type sample struct {
	at       int64 // monotime
	c        counters
	waits    []bucketCount // the buckets that grew since the previous sample
	p50, p99 time.Duration // of those waits; 0 if none
	count    uint64        // how many waits those were
}

// history is the ring of one instance's samples, oldest first from
// (next-n) mod HistoryLength.
type history struct {
	ring    [HistoryLength]sample
	n, next int
	wait    poolwait.Stats // the wait at the latest sample, to diff the next one against
	visited uint64         // the generation that last read it, to forget dropped instances
}

// at returns the i-th sample, oldest first.
func (h *history) at(i int) *sample {
	return &h.ring[(h.next-h.n+i+HistoryLength)%HistoryLength]
}

func (h *history) latest() *sample {
	if h.n == 0 {
		return nil
	}
	return h.at(h.n - 1)
}

// observe takes a sample of r, read at now, unless the latest is younger
// than samplePeriod.
func (h *history) observe(now int64, r *reading) {
	if last := h.latest(); last != nil && now-last.at < int64(samplePeriod) {
		return
	}
	s := &h.ring[h.next]
	*s = sample{at: now, c: r.c, waits: s.waits[:0]}
	if r.hasWait {
		first := h.n == 0
		var interval poolwait.Stats
		for i := range poolwait.NumBuckets {
			if d := r.wait.Buckets[i] - h.wait.Buckets[i]; d > 0 {
				if !first {
					s.waits = append(s.waits, bucketCount{uint8(i), d})
				}
				interval.Buckets[i] = d
				interval.Count += d
			}
		}
		if !first { // the first sample's interval is the whole past: not a point of the chart
			interval.Max = r.wait.Max
			s.count = interval.Count
			s.p50, s.p99 = interval.Quantile(0.5), interval.Quantile(0.99)
		}
		h.wait = r.wait
	}
	h.next = (h.next + 1) % HistoryLength
	h.n = min(h.n+1, HistoryLength)
}

// window returns the oldest sample within the last minute of now and the
// newest one at least samplePeriod old (nil when there is none), for
// rates over the minute and the state "now".
func (h *history) window(now int64) (oldest, recent *sample) {
	for i := range h.n {
		s := h.at(i)
		if now-s.at > int64(time.Minute) {
			continue
		}
		if oldest == nil && now-s.at > 0 {
			oldest = s
		}
		if now-s.at >= int64(samplePeriod) {
			recent = s
		}
	}
	return oldest, recent
}

// waitSince adds up the waits of the samples after from (all of them if
// from is nil), for a Wait's quantiles over the window.
func (h *history) waitSince(from *sample) poolwait.Stats {
	var st poolwait.Stats
	after := from == nil
	for i := range h.n {
		s := h.at(i)
		if !after {
			after = s == from
			continue
		}
		for _, b := range s.waits {
			st.Buckets[b.bucket] += b.n
			st.Count += b.n
		}
	}
	st.Max = h.wait.Max
	return st
}
