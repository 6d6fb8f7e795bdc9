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
