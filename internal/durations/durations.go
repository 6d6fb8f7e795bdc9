// Package durations holds the one rule every watertight Config applies to
// its time.Duration fields: a duration that is set is at least a
// millisecond. A bare number in a Duration field is nanoseconds — Duration:
// 10 is 10 ns, with which every call times out — and no watertight
// duration means anything below a millisecond, so a value under it is the
// mistake of a missing unit, reported as such instead of run.
package durations

import (
	"fmt"
	"time"
)

// Min is the shortest duration a watertight Config field takes, when it is
// set.
const Min = time.Millisecond

// Check returns an error naming pkg's field ("Config.Duration") for d, when d is
// negative or set below Min: "timeout: Config.Duration must be 0 or at
// least 1ms, got 10ns (a bare number is nanoseconds: write 10 *
// time.Millisecond)" — the hint only for a value under a microsecond,
// which is a bare number. It returns nil for 0 and for Min or more; a
// field that is required checks its zero value itself.
func Check(pkg, field string, d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("%s: %s must be >= 0, got %v", pkg, field, d)
	case d > 0 && d < time.Microsecond:
		return fmt.Errorf("%s: %s must be 0 or at least 1ms, got %v (a bare number is nanoseconds: write %d * time.Millisecond)", pkg, field, d, int64(d))
	case d > 0 && d < Min:
		return fmt.Errorf("%s: %s must be 0 or at least 1ms, got %v", pkg, field, d)
	}
	return nil
}

// First returns the first error of errs that is not nil, for a Config
// with several duration fields.
func First(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
