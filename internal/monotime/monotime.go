// Package monotime reads the monotonic clock alone, for durations on hot
// paths: time.Since on a monotonic Time skips the wall clock that time.Now
// also reads, which makes it about a third cheaper (23 ns against 37 ns on
// the machines this project measures on).
package monotime

import "time"

// epoch anchors Now.
var epoch = time.Now()

// Now returns nanoseconds since an arbitrary fixed instant; only
// differences between two readings mean anything. It is never 0 after
// package initialisation.
func Now() int64 { return int64(time.Since(epoch)) }

// InBubble reports whether the reading now (from Now) was taken inside a
// testing/synctest bubble. A bubble's fake clock starts at midnight UTC on
// 2000-01-01, before this process started, so its readings are negative;
// real ones never are. Go has no other way to tell. State that holds a
// channel or a timer must not be pooled across bubbles: one made in a
// bubble may be used only inside it.
func InBubble(now int64) bool { return now < 0 }

// Time returns reading (from Now) as a time.Time with the same monotonic
// reading, without reading the clock: for an API that takes time.Time,
// such as ledger.Span. Only its monotonic reading is meaningful: use it
// with Sub and Since, not as a wall-clock time.
func Time(reading int64) time.Time { return epoch.Add(time.Duration(reading)) }
