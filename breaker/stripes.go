package breaker

import (
	"math/rand/v2"
	"sync/atomic"
)

// stripes holds the two counters that every call of a busy breaker may
// add to — calls let through that no window counted, and calls rejected —
// split over cache lines: each add picks a line at random, so goroutines
// on different cores seldom write the same one, and a load adds the lines
// up. A single shared counter costs a cache-line transfer between cores
// on every call, which is most of the cost of a closed or open breaker
// under parallel load.
type stripes [stripeCount]stripe

// stripeCount is a power of two: enough lines that two cores collide on
// one call in eight. The stripes are allocated on their own, 512 bytes
// that the allocator aligns to 512, so that each stripe is one line.
const stripeCount = 8

type stripe struct {
	calls, rejected atomic.Uint64
	_               [48]byte
}

// line picks a stripe. hint is a clock reading the caller already has,
// whose low bits differ from call to call, or 0, in which case line draws
// a random number: math/rand/v2's global source is per thread and costs a
// few nanoseconds, far less than a contended cache line.
func (s *stripes) line(hint int64) *stripe {
	h := uint64(hint)
	if h == 0 {
		h = uint64(rand.Uint32())
	}
	return &s[(h^h>>7)%stripeCount]
}

func (s *stripes) addCall(hint int64)     { s.line(hint).calls.Add(1) }
func (s *stripes) addRejected(hint int64) { s.line(hint).rejected.Add(1) }

func (s *stripes) calls() (n uint64) {
	for i := range s {
		n += s[i].calls.Load()
	}
	return n
}

func (s *stripes) rejected() (n uint64) {
	for i := range s {
		n += s[i].rejected.Load()
	}
	return n
}
