package bulkhead

import (
	"fmt"
	"time"

	"github.com/watertight-go/watertight/adaptive"
	"github.com/watertight-go/watertight/internal/codel"
	"github.com/watertight-go/watertight/internal/durations"
)

// Largest accepted values: the in-flight count, the limit and the number of
// waiters share one 64-bit word so that a slot is taken with a single
// compare-and-swap.
const (
	// MaxLimit is the largest accepted MaxConcurrent.
	MaxLimit = 1<<limitBits - 1
	// MaxQueueLimit is the largest accepted MaxQueue.
	MaxQueueLimit = 1<<waitingBits - 1
)

// Config configures a Bulkhead. The zero value is not valid: MaxConcurrent
// is required.
type Config struct {
	// Name identifies the bulkhead in errors and metrics. Empty: errors are
	// the bare sentinels, and metrics adapters use "".
	Name string

	// MaxConcurrent is how many calls may run at once. Required: 1 to
	// MaxLimit. Size it to what the dependency can serve, not to your
	// traffic.
	MaxConcurrent int

	// MaxQueue is how many callers may wait for a slot when all are taken.
	// Zero: none; a call that finds every slot taken fails at once with
	// ErrFull. At most MaxQueueLimit.
	MaxQueue int

	// Queue is how waiters are served: FIFO (the zero value), or CoDel,
	// which serves newest first and refuses the waiters older than
	// CoDelTarget once the queue stands (see the package doc).
	Queue QueueDiscipline

	// CoDelTarget is the longest a waiter may have waited, when a slot
	// frees in a standing CoDel queue, and still get it. Zero: 5 ms.
	// Only with Queue CoDel.
	CoDelTarget time.Duration

	// CoDelInterval is how long a CoDel queue must go without emptying
	// before it stands, and the longest a waiter may wait in one that does
	// not. Zero: 100 ms. Only with Queue CoDel; more than CoDelTarget.
	CoDelInterval time.Duration

	// Limit, if set, makes the limit adaptive: it starts at the
	// algorithm's Initial and follows what Limit.Observe returns for each
	// finished call, clamped to [1, MaxConcurrent], which becomes the
	// ceiling (see adaptive.Gradient and adaptive.AIMD). A Limit keeps
	// the state of one bulkhead's calls: one given to two bulkheads is an
	// error. Nil: the limit is MaxConcurrent.
	Limit adaptive.Limit

	// OnLimitChange is called after every change of the limit, by Limit
	// or by SetMaxConcurrent, outside the bulkhead's lock and in the order
	// the changes happened; it may call back into the bulkhead. Nil:
	// nothing is called.
	OnLimitChange func(LimitChange)

	// MaxWait is the longest a caller waits in the queue before it gets
	// ErrWaitTimeout. Zero: no limit of its own; the caller waits until its
	// ctx is done. Setting it with MaxQueue 0 is an error: nobody could
	// ever wait.
	MaxWait time.Duration
}

func (c Config) validate() error {
	if err := durations.Check("bulkhead", "Config.MaxWait", c.MaxWait); err != nil {
		return err
	}
	switch {
	case c.MaxConcurrent <= 0:
		return fmt.Errorf("bulkhead: Config.MaxConcurrent must be > 0, got %d", c.MaxConcurrent)
	case c.MaxConcurrent > MaxLimit:
		return fmt.Errorf("bulkhead: Config.MaxConcurrent must be <= %d, got %d", MaxLimit, c.MaxConcurrent)
	case c.MaxQueue < 0:
		return fmt.Errorf("bulkhead: Config.MaxQueue must be >= 0, got %d", c.MaxQueue)
	case c.MaxQueue > MaxQueueLimit:
		return fmt.Errorf("bulkhead: Config.MaxQueue must be <= %d, got %d", MaxQueueLimit, c.MaxQueue)
	case c.Queue != FIFO && c.Queue != CoDel:
		return fmt.Errorf("bulkhead: Config.Queue must be FIFO or CoDel, got %v", c.Queue)
	case codel.Check("bulkhead", c.Queue == CoDel, c.Queue.String(), c.CoDelTarget, c.CoDelInterval) != nil:
		return codel.Check("bulkhead", c.Queue == CoDel, c.Queue.String(), c.CoDelTarget, c.CoDelInterval)
	case c.Queue == CoDel && c.MaxQueue == 0:
		return fmt.Errorf("bulkhead: Config.Queue is CoDel but MaxQueue is 0: no caller can wait; set MaxQueue")
	case c.MaxWait > 0 && c.MaxQueue == 0:
		return fmt.Errorf("bulkhead: Config.MaxWait is %v but MaxQueue is 0: no caller can wait; set MaxQueue, or leave MaxWait 0", c.MaxWait)
	}
	return nil
}
