package poolwait

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Bucket layout: log-linear, as in HDR histograms. Bucket 0 holds waits
// under 2^minExp ns (1.024µs). Each octave [2^e, 2^(e+1)) ns from minExp up
// to maxExp is split into 2^subBits equal buckets, so a bucket's width is at
// most 1/8 of its lower bound. The last bucket holds waits of 2^maxExp ns
// (about 68.7s) and more.
const (
	minExp  = 10
	maxExp  = 36
	subBits = 3

	// NumBuckets is the number of buckets in Stats.Buckets.
	NumBuckets = 1 + (maxExp-minExp)<<subBits + 1
)

// QuantileError is the largest relative error of Stats.Quantile for waits
// between 1.024µs and 68.7s: a quantile is reported as the geometric middle
// of its bucket, which is within sqrt(9/8)-1 ≈ 6.1% of every value in it.
const QuantileError = 0.061

// Recorder is a lock-free histogram of wait durations. The zero value is
// ready to use; a Recorder must not be copied after first use.
//
// Observe may be called from any number of goroutines, and Stats at the same
// time. Stats reads the fields one after another, so a snapshot taken during
// Observe calls may count a wait in Buckets and Count but not yet in Total.
type Recorder struct {
	total   atomic.Int64 // nanoseconds
	max     atomic.Int64 // nanoseconds
	buckets [NumBuckets]atomic.Uint64
}

// Observe records one wait. A negative d is recorded as 0.
func (r *Recorder) Observe(d time.Duration) {
	if r == nil {
		return
	}
	if d <= 0 {
		r.buckets[0].Add(1)
		return
	}
	r.buckets[bucketOf(d)].Add(1)
	r.total.Add(int64(d))
	for {
		m := r.max.Load()
		if int64(d) <= m || r.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Stats returns a snapshot of every wait recorded so far.
func (r *Recorder) Stats() Stats {
	if r == nil {
		return Stats{}
	}
	var s Stats
	for i := range r.buckets {
		n := r.buckets[i].Load()
		s.Buckets[i] = n
		s.Count += n
	}
	s.Total = time.Duration(r.total.Load())
	s.Max = time.Duration(r.max.Load())
	return s
}

// BucketOf returns the index of the bucket that holds d, for code that
// keeps counts in poolwait's layout (a negative d is in bucket 0).
func BucketOf(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return bucketOf(d)
}

// bucketOf returns the index of the bucket that holds d (d > 0).
func bucketOf(d time.Duration) int {
	ns := uint64(d)
	if ns < 1<<minExp {
		return 0
	}
	if ns >= 1<<maxExp {
		return NumBuckets - 1
	}
	e := bits.Len64(ns) - 1
	sub := int(ns>>(e-subBits)) & (1<<subBits - 1)
	return 1 + (e-minExp)<<subBits + sub
}

// BucketLowerBound returns the smallest wait that bucket i holds.
func BucketLowerBound(i int) time.Duration {
	switch {
	case i <= 0:
		return 0
	case i >= NumBuckets-1:
		return 1 << maxExp
	}
	i--
	e := minExp + i>>subBits
	sub := i & (1<<subBits - 1)
	return time.Duration((1<<subBits + sub) << (e - subBits))
}

// BucketUpperBound returns the end of bucket i: it holds waits d with
// BucketLowerBound(i) <= d < BucketUpperBound(i). The last bucket has no end:
// its upper bound is math.MaxInt64 (about 292 years).
func BucketUpperBound(i int) time.Duration {
	if i >= NumBuckets-1 {
		return math.MaxInt64
	}
	return BucketLowerBound(i + 1)
}

// Stats is a snapshot of a Recorder: how many waits, how long in total, the
// longest, and how they are distributed.
type Stats struct {
	// Count is the number of waits recorded, zero waits included.
	Count uint64
	// Total is the sum of all waits.
	Total time.Duration
	// Max is the longest wait recorded since the Recorder was created.
	Max time.Duration
	// Buckets[i] counts the waits d with BucketLowerBound(i) <= d <
	// BucketUpperBound(i). The counts are cumulative over time (they only
	// grow), not across buckets; metric adapters add them up into the
	// cumulative-per-bound form Prometheus expects.
	Buckets [NumBuckets]uint64
}

// Mean returns the average wait, or 0 if there was none.
func (s Stats) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Total / time.Duration(s.Count)
}

// Quantile returns the wait below which a fraction q of the waits fall
// (q=0.99 gives the 99th percentile). q is clamped to [0, 1], and NaN
// counts as 0 (the shortest wait); it returns 0 if there was no wait.
//
// The result is within QuantileError (6.1%) of a wait that was actually
// recorded at that rank, for waits from 1.024µs to 68.7s. Waits under
// 1.024µs — an uncontended acquire — are reported as 0: they were no wait.
// Waits over 68.7s, and Quantile(1), are reported as Max, which is exact.
// The result is never above Max.
func (s Stats) Quantile(q float64) time.Duration {
	if s.Count == 0 {
		return 0
	}
	if !(q > 0) { // also NaN
		q = 0
	}
	rank := uint64(math.Ceil(q * float64(s.Count)))
	if rank >= s.Count {
		return s.Max // the top rank is the longest wait, known exactly
	}
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, n := range s.Buckets {
		seen += n
		if seen < rank {
			continue
		}
		switch i {
		case 0:
			return 0
		case NumBuckets - 1:
			return s.Max
		}
		lo, hi := float64(BucketLowerBound(i)), float64(BucketUpperBound(i))
		return min(time.Duration(math.Sqrt(lo*hi)), s.Max)
	}
	return s.Max
}

// Sub returns the waits recorded between the snapshot prev and s, where prev
// was taken earlier from the same Recorder: Count, Total and Buckets are the
// differences. Max is exact when the longest wait ever grew in the interval
// (s.Max > prev.Max: the interval holds it). Otherwise it is estimated like
// a quantile, as the geometric middle of the highest bucket that gained a
// wait, capped at s.Max: within QuantileError of the interval's longest
// wait, so that the interval's quantiles, Quantile(1) and the top ranks of
// a small interval included, keep the error Quantile documents; waits all
// under 1.024µs give 0, which Quantile reports for them.
func (s Stats) Sub(prev Stats) Stats {
	d := Stats{Total: s.Total - prev.Total}
	top := -1
	for i := range s.Buckets {
		n := s.Buckets[i] - prev.Buckets[i]
		d.Buckets[i] = n
		d.Count += n
		if n > 0 {
			top = i
		}
	}
	switch {
	case top < 0:
	case s.Max > prev.Max:
		d.Max = s.Max
	case top == 0:
		d.Max = 0 // under 1.024µs: no wait, as Quantile reports it
	case top == NumBuckets-1:
		d.Max = s.Max
	default:
		lo, hi := float64(BucketLowerBound(top)), float64(BucketUpperBound(top))
		d.Max = min(time.Duration(math.Sqrt(lo*hi)), s.Max)
	}
	return d
}
