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
	waits, waitNS                                uint64 // a connection pool's own count of waits, and their total
}

func (c counters) sub(o counters) counters {
	return counters{c.calls - o.calls, c.failures - o.failures, c.rejected - o.rejected, c.timeouts - o.timeouts, c.retries - o.retries,
		c.waits - o.waits, c.waitNS - o.waitNS}
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
	max      time.Duration // the longest of them (estimated within a bucket, as poolwait.Stats.Sub does)
	count    uint64        // how many waits those were
	// holds and holdMax are the same for a connection pool's holds.
	holds   []bucketCount
	holdMax time.Duration
}

// history is the ring of one instance's samples, oldest first from
// (next-n) mod HistoryLength.
type history struct {
	ring    [HistoryLength]sample
	n, next int
	wait    poolwait.Stats // the wait at the latest sample, to diff the next one against
	hold    poolwait.Stats // a connection pool's holds, likewise
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
	*s = sample{at: now, c: r.c, waits: s.waits[:0], holds: s.holds[:0]}
	if r.hasWait {
		if h.n > 0 { // the first sample's interval is the whole past: not a point of the chart
			interval := r.wait.Sub(h.wait) // its Max is this interval's, not the all-time one
			s.waits = grown(s.waits, interval)
			s.count, s.max = interval.Count, interval.Max
			s.p50, s.p99 = interval.Quantile(0.5), interval.Quantile(0.99)
		}
		h.wait = r.wait
	}
	if r.hasHold {
		if h.n > 0 {
			interval := r.hold.Sub(h.hold)
			s.holds, s.holdMax = grown(s.holds, interval), interval.Max
		}
		h.hold = r.hold
	}
	h.next = (h.next + 1) % HistoryLength
	h.n = min(h.n+1, HistoryLength)
}

// window returns where the window of rates and waits starts, and the
// newest sample at least samplePeriod old (nil when there is none), for
// the state "now". The window starts at the oldest sample within the last
// minute; when none is (the first read after a quiet spell: nobody read
// the page for a while), at the newest sample before now, however old, so
// that the counts of that longer window are shown as what they are, over
// their own length, never as the whole past.
func (h *history) window(now int64) (oldest, recent *sample) {
	var before *sample // the newest sample before now
	for i := range h.n {
		s := h.at(i)
		if now-s.at > 0 {
			before = s
		}
		if oldest == nil && now-s.at > 0 && now-s.at <= int64(time.Minute) {
			oldest = s
		}
		if now-s.at >= int64(samplePeriod) {
			recent = s
		}
	}
	if oldest == nil {
		oldest = before
	}
	return oldest, recent
}

// grown appends to into the buckets of interval that grew.
func grown(into []bucketCount, interval poolwait.Stats) []bucketCount {
	for i, n := range interval.Buckets {
		if n > 0 {
			into = append(into, bucketCount{uint8(i), n})
		}
	}
	return into
}

// waitSince adds up the waits of the samples after from (all of them if
// from is nil), for a Wait's quantiles over the window.
func (h *history) waitSince(from *sample) poolwait.Stats {
	return h.since(from, func(s *sample) ([]bucketCount, time.Duration) { return s.waits, s.max })
}

// holdSince is waitSince for a connection pool's holds.
func (h *history) holdSince(from *sample) poolwait.Stats {
	return h.since(from, func(s *sample) ([]bucketCount, time.Duration) { return s.holds, s.holdMax })
}

// since adds up one distribution of the samples after from.
func (h *history) since(from *sample, of func(*sample) ([]bucketCount, time.Duration)) poolwait.Stats {
	var st poolwait.Stats
	after := from == nil
	for i := range h.n {
		s := h.at(i)
		if !after {
			after = s == from
			continue
		}
		buckets, longest := of(s)
		for _, b := range buckets {
			st.Buckets[b.bucket] += b.n
			st.Count += b.n
		}
		st.Max = max(st.Max, longest) // the window's longest, not the all-time one
	}
	return st
}
