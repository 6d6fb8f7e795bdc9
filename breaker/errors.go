package breaker

import (
	"errors"
	"strconv"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/rejection"
)

var (
	// ErrOpen is matched by the *OpenError an open breaker returns. It
	// matches watertight.ErrRejected.
	ErrOpen error = errOpen
	// ErrHalfOpenFull is returned by a half-open breaker whose probes are
	// all taken. It matches watertight.ErrRejected.
	ErrHalfOpenFull error = errHalfOpenFull

	errOpen         = rejection.New("breaker", "open")
	errHalfOpenFull = rejection.New("breaker", "half-open, probes taken")
	errNilFunc      = errors.New("breaker: Do called with a nil fn")
	errNilCtx       = errors.New("breaker: Do called with a nil ctx")
	errNilBreaker   = errors.New("breaker: Do called on a nil *Breaker")
)

// OpenError is returned while the circuit is open. It matches ErrOpen and
// watertight.ErrRejected, and watertight.RetryAfter returns its
// RetryAfter.
//
// RetryAfter is the time left in the open period, rounded up to a whole
// second, the unit of an HTTP Retry-After header. Rejections within the
// same second share one OpenError, so rejecting allocates nothing.
type OpenError struct {
	Name       string        // Config.Name
	RetryAfter time.Duration // time left until the breaker lets probes through
}

func (e *OpenError) Error() string {
	if e.Name == "" {
		return "breaker: open, retry after " + e.RetryAfter.String()
	}
	return "breaker " + strconv.Quote(e.Name) + ": open, retry after " + e.RetryAfter.String()
}

// Is reports whether target is ErrOpen or watertight.ErrRejected.
func (e *OpenError) Is(target error) bool {
	return target == ErrOpen || target == watertight.ErrRejected
}

// RetryAfterHint returns RetryAfter, for watertight.RetryAfter.
func (e *OpenError) RetryAfterHint() time.Duration { return e.RetryAfter }
