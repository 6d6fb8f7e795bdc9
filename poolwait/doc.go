// Package poolwait measures waits: for a bulkhead slot, a pool worker, a
// database connection.
//
// A Recorder is a lock-free histogram that the other watertight packages
// feed with every wait they impose, zero waits included, so that quantiles
// are honest: a p99 over only the callers that waited would hide how rare
// the waits are. Observe costs a few atomic adds and never allocates; Stats
// returns a value snapshot, and Stats.Sub gives the waits between two
// snapshots, for rates and per-interval quantiles between two scrapes.
//
// # Precision
//
// Buckets are log-linear: every power-of-two octave from 1.024µs to 68.7s is
// split into 8 equal buckets (NumBuckets in all). Quantile reports the
// geometric middle of the bucket that holds the rank, which is within
// QuantileError (6.1%) of the true value. Waits under 1.024µs count as no
// wait (0); waits over 68.7s are reported as Max. Count, Total and Max are
// exact.
//
// A Recorder takes about 1.7 KB. Its buckets are exported (Stats.Buckets,
// BucketLowerBound, BucketUpperBound) so that metric adapters can build real
// histograms from them.
package poolwait
