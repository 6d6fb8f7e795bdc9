// Package codel holds what bulkhead and pool share of "Fail at Scale"'s
// controlled delay: the defaults and the checks of their Config fields.
package codel

import (
	"fmt"
	"strconv"
	"time"

	"github.com/watertight-go/watertight/internal/durations"
)

// The paper's defaults: a waiter may wait 5 ms in a queue that stands,
// and a queue stands once it has not been empty for 100 ms.
const (
	DefaultTarget   = 5 * time.Millisecond
	DefaultInterval = 100 * time.Millisecond
)

// Settings returns target and interval with their defaults applied.
func Settings(target, interval time.Duration) (time.Duration, time.Duration) {
	if target == 0 {
		target = DefaultTarget
	}
	if interval == 0 {
		interval = DefaultInterval
	}
	return target, interval
}

// Check returns an error, prefixed with pkg, for CoDel fields that do not
// fit: set without CoDel, negative or under a millisecond (see
// internal/durations), or a target not under the interval.
// queue is the discipline's name, for the message.
func Check(pkg string, isCoDel bool, queue string, target, interval time.Duration) error {
	if !isCoDel && (target != 0 || interval != 0) {
		return fmt.Errorf("%s: Config.CoDelTarget (%v) and CoDelInterval (%v) are set but Config.Queue is %s; set Queue: CoDel", pkg, target, interval, queue)
	}
	if err := durations.First(durations.Check(pkg, "Config.CoDelTarget", target), durations.Check(pkg, "Config.CoDelInterval", interval)); err != nil {
		return err
	}
	if t, i := Settings(target, interval); isCoDel && t >= i {
		return fmt.Errorf("%s: Config.CoDelTarget (%v) must be less than Config.CoDelInterval (%v)", pkg, t, i)
	}
	return nil
}

// State is one CoDel queue's standing, for bulkhead and pool. It is not
// safe for concurrent use: its queue's lock guards it.
//
// The queue stands once it has gone an interval without emptying by
// serving its waiters. A queue emptied by refusals (waiters shed, timed
// out, gone) has not served anyone: the pressure that filled it goes on,
// so it keeps standing for an interval after its last waiter left, and a
// waiter that comes meanwhile is held to the target at once. Otherwise a
// hung dependency, which serves no one, would empty the queue by shedding
// and give every next waiter a whole interval again.
type State struct {
	Target, Interval time.Duration

	nonEmptySince int64 // monotime: since when the queue has not emptied by serving
	drained       bool  // refusals emptied the queue (not serving), at drainedAt
	drainedAt     int64 // monotime; readings may be negative (a synctest bubble's)
}

// NewState returns the State of a queue with target and interval, their
// defaults applied.
func NewState(target, interval time.Duration) *State {
	t, i := Settings(target, interval)
	return &State{Target: t, Interval: i}
}

// Joined records a waiter joining at now; empty says the queue was empty.
// It returns how long the waiter may wait: the interval, in a queue that
// does not stand, cut short to the moment the queue will stand, or to the
// target if it stands already.
func (c *State) Joined(empty bool, now int64) time.Duration {
	if empty {
		if !c.drained || time.Duration(now-c.drainedAt) >= c.Interval {
			c.nonEmptySince = now // a fresh queue
		}
		c.drained = false
	}
	return max(c.Target, time.Duration(c.nonEmptySince+int64(c.Interval)-now))
}

// Left records that the queue is empty at now: served says it emptied by
// serving its last waiter, not by refusing it.
func (c *State) Left(served bool, now int64) { c.drained, c.drainedAt = !served, now }

// Standing reports whether the queue stands at now: it has gone an
// interval without emptying by serving, and holds waiters (nonEmpty) or
// was emptied by refusals less than an interval ago.
func (c *State) Standing(nonEmpty bool, now int64) bool {
	pressed := nonEmpty || (c.drained && time.Duration(now-c.drainedAt) < c.Interval)
	return pressed && time.Duration(now-c.nonEmptySince) >= c.Interval
}

// Late reports whether a waiter that joined at since is past the target
// at now in a queue that stands.
func (c *State) Late(since, now int64) bool { return time.Duration(now-since) > c.Target }

// Limit is the moment (monotime) a waiter that joined at since, and is
// still queued, is refused: when the queue will stand, or at its target
// if the queue stands by then.
func (c *State) Limit(since int64) int64 {
	return max(since+int64(c.Target), c.nonEmptySince+int64(c.Interval))
}

// Name is a QueueDiscipline's String: FIFO (0), CoDel (1), or the number.
func Name(q int) string {
	switch q {
	case 0:
		return "FIFO"
	case 1:
		return "CoDel"
	}
	return "QueueDiscipline(" + strconv.Itoa(q) + ")"
}
