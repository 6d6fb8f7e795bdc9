package poolwait_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/poolwait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestZeroRecorder(t *testing.T) {
	var r poolwait.Recorder
	s := r.Stats()
	assert.Zero(t, s.Count)
	assert.Zero(t, s.Mean())
	assert.Zero(t, s.Quantile(0.99))
	assert.Zero(t, s.Max)
}

func TestBucketsTileTheLine(t *testing.T) {
	require.Equal(t, time.Duration(0), poolwait.BucketLowerBound(0))
	require.Equal(t, 1024*time.Nanosecond, poolwait.BucketUpperBound(0))
	for i := 1; i < poolwait.NumBuckets; i++ {
		lo, hi := poolwait.BucketLowerBound(i), poolwait.BucketUpperBound(i)
		require.Equal(t, poolwait.BucketUpperBound(i-1), lo, "bucket %d", i)
		require.Less(t, lo, hi, "bucket %d", i)
		if i < poolwait.NumBuckets-1 {
			// Each bucket is at most 1/8 of its lower bound wide.
			require.LessOrEqual(t, float64(hi-lo)/float64(lo), 0.125+1e-12, "bucket %d", i)
		}
	}
	assert.GreaterOrEqual(t, poolwait.BucketLowerBound(poolwait.NumBuckets-1), time.Minute)
}

func TestObservePutsEachWaitInItsBucket(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 1023, 1024, 1025, 1151, 1152, 1279, 1280, 2047, 2048,
		time.Millisecond, time.Second, time.Minute, 1<<36 - 1, 1 << 36, time.Hour} {
		var r poolwait.Recorder
		r.Observe(d)
		s := r.Stats()
		i := slices.Index(s.Buckets[:], 1)
		require.GreaterOrEqual(t, i, 0, "%v", d)
		assert.LessOrEqual(t, poolwait.BucketLowerBound(i), d, "%v in bucket %d", d, i)
		assert.Less(t, d, poolwait.BucketUpperBound(i), "%v in bucket %d", d, i)
	}
}

func TestNegativeWaitCountsAsZero(t *testing.T) {
	var r poolwait.Recorder
	r.Observe(-time.Second)
	s := r.Stats()
	assert.Equal(t, uint64(1), s.Count)
	assert.Equal(t, uint64(1), s.Buckets[0])
	assert.Zero(t, s.Total)
	assert.Zero(t, s.Max)
}

func TestCountTotalMaxMean(t *testing.T) {
	var r poolwait.Recorder
	for _, d := range []time.Duration{0, 10 * time.Millisecond, 30 * time.Millisecond, 20 * time.Millisecond} {
		r.Observe(d)
	}
	s := r.Stats()
	assert.Equal(t, uint64(4), s.Count)
	assert.Equal(t, 60*time.Millisecond, s.Total)
	assert.Equal(t, 30*time.Millisecond, s.Max)
	assert.Equal(t, 15*time.Millisecond, s.Mean())
}

// The reported quantile is within QuantileError of the recorded value at the
// same rank, for every distribution shape we throw at it.
func TestQuantileWithinDocumentedError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := map[string]func() time.Duration{
		"uniform":     func() time.Duration { return time.Duration(1024 + rng.Int64N(int64(time.Second))) },
		"exponential": func() time.Duration { return time.Duration(1024 + rng.ExpFloat64()*float64(5*time.Millisecond)) },
		"log-uniform": func() time.Duration { return time.Duration(math.Exp(rng.Float64()*math.Log(6e10/1024)) * 1024) },
		"bimodal": func() time.Duration {
			if rng.IntN(100) < 95 {
				return time.Duration(2000 + rng.Int64N(1000))
			}
			return time.Duration(2*time.Second + time.Duration(rng.Int64N(int64(time.Second))))
		},
	}
	for name, draw := range shapes {
		t.Run(name, func(t *testing.T) {
			var r poolwait.Recorder
			waits := make([]time.Duration, 20000)
			for i := range waits {
				waits[i] = draw()
				r.Observe(waits[i])
			}
			slices.Sort(waits)
			s := r.Stats()
			for _, q := range []float64{0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
				want := waits[int(math.Ceil(q*float64(len(waits))))-1]
				got := s.Quantile(q)
				relErr := math.Abs(float64(got-want)) / float64(want)
				assert.LessOrEqual(t, relErr, poolwait.QuantileError, "q=%v want %v got %v", q, want, got)
			}
			assert.Equal(t, waits[len(waits)-1], s.Quantile(1))
		})
	}
}

func TestQuantileEdges(t *testing.T) {
	var r poolwait.Recorder
	for range 99 {
		r.Observe(0) // uncontended: no wait
	}
	r.Observe(2 * time.Hour) // beyond the last bound
	s := r.Stats()
	assert.Zero(t, s.Quantile(0.5))
	assert.Zero(t, s.Quantile(0.99))
	assert.Equal(t, 2*time.Hour, s.Quantile(0.995))
	assert.Equal(t, 2*time.Hour, s.Quantile(1))
	assert.Zero(t, s.Quantile(-1))
	assert.Zero(t, s.Quantile(math.NaN()))
	assert.Equal(t, 2*time.Hour, s.Quantile(7))
}

func TestSubGivesTheIntervalBetweenSnapshots(t *testing.T) {
	var r poolwait.Recorder
	r.Observe(time.Second)
	prev := r.Stats()
	r.Observe(10 * time.Millisecond)
	r.Observe(30 * time.Millisecond)
	d := r.Stats().Sub(prev)
	assert.Equal(t, uint64(2), d.Count)
	assert.Equal(t, 40*time.Millisecond, d.Total)
	assert.Equal(t, 20*time.Millisecond, d.Mean())
	// Max of the interval: within QuantileError of 30ms, not 1s.
	assert.InEpsilon(t, float64(30*time.Millisecond), float64(d.Max), poolwait.QuantileError)
	assert.InEpsilon(t, float64(30*time.Millisecond), float64(d.Quantile(1)), poolwait.QuantileError)

	// The longest wait ever, recorded in the interval: exact.
	prev = r.Stats()
	r.Observe(1500 * time.Millisecond)
	assert.Equal(t, 1500*time.Millisecond, r.Stats().Sub(prev).Max)

	empty := r.Stats().Sub(r.Stats())
	assert.Zero(t, empty.Count)
	assert.Zero(t, empty.Max)
}

// The worst case for an interval's top ranks: every wait just above a
// bucket's lower bound, where that bucket's upper bound is 12.5% off. The
// p99 of a small interval (its top rank) used to be that upper bound,
// twice QuantileError; it must stay within QuantileError, at every scale.
func TestSubTopRanksKeepTheQuantileError(t *testing.T) {
	for i := 1; i < poolwait.NumBuckets-1; i += 7 {
		var r poolwait.Recorder
		r.Observe(2 * time.Minute) // an old, longer wait: s.Max says nothing of the interval
		prev := r.Stats()
		wait := poolwait.BucketLowerBound(i) + 1
		for range 50 {
			r.Observe(wait)
		}
		d := r.Stats().Sub(prev)
		for _, q := range []float64{0.5, 0.99, 1} {
			assert.InEpsilon(t, float64(wait), float64(d.Quantile(q)), poolwait.QuantileError, "bucket %d, q %v", i, q)
		}
	}
}

func TestConcurrentObserveLosesNothing(t *testing.T) {
	var r poolwait.Recorder
	var wg sync.WaitGroup
	const goroutines, each = 8, 5000
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				r.Observe(time.Duration(g*each+i) * time.Microsecond)
				if i%500 == 0 {
					_ = r.Stats() // readers race with writers
				}
			}
		})
	}
	wg.Wait()
	s := r.Stats()
	const n = goroutines * each
	assert.Equal(t, uint64(n), s.Count)
	assert.Equal(t, time.Duration(n*(n-1)/2)*time.Microsecond, s.Total)
	assert.Equal(t, time.Duration(n-1)*time.Microsecond, s.Max)
}

func BenchmarkObserve(b *testing.B) {
	b.Run("zero", func(b *testing.B) {
		var r poolwait.Recorder
		b.ReportAllocs()
		for b.Loop() {
			r.Observe(0)
		}
	})
	b.Run("wait", func(b *testing.B) {
		var r poolwait.Recorder
		b.ReportAllocs()
		d := 3 * time.Millisecond
		for b.Loop() {
			r.Observe(d)
		}
	})
	b.Run("wait/parallel", func(b *testing.B) {
		var r poolwait.Recorder
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			d := 3 * time.Millisecond
			for pb.Next() {
				r.Observe(d)
			}
		})
	})
}

func BenchmarkStats(b *testing.B) {
	var r poolwait.Recorder
	r.Observe(time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Stats().Quantile(0.99)
	}
}
