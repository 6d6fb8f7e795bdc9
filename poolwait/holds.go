package poolwait

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/internal/durations"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/orphan"
)

// HoldsConfig configures Holds.
type HoldsConfig struct {
	// Pool names the pool in leak reports. Empty: none is named.
	Pool string

	// LeakAfter, if set, reports a connection held longer than this, once,
	// with the stack that took it, and again when it comes back, with how
	// long it was held — HikariCP's leakDetectionThreshold. Zero: no leak
	// detection, and no stack captured nor timer started for it. Negative,
	// or under 1 ms (a bare number is nanoseconds), is an error.
	LeakAfter time.Duration

	// OnLeak receives the reports, from a timer's goroutine (held too
	// long) or the goroutine that returned the connection (returned). A
	// panic in it is logged, and goes no further: it must not take the
	// pool's caller down. Nil: a slog warning with the pool, how long,
	// and the stack.
	OnLeak func(Leak)

	// PoolFrames are function-name prefixes of the pool's own code
	// ("database/sql.", "github.com/jackc/pgx/v5/"): the frames at the top
	// of a leak's stack that start with one are left out, so that the
	// stack starts where your code took the connection. Nil: every frame
	// above Acquire's caller is kept.
	PoolFrames []string
}

// Leak is a report of a connection held past HoldsConfig.LeakAfter.
type Leak struct {
	Pool string
	// Held is how long the connection had been held: LeakAfter when it is
	// reported as held, the whole hold when it is reported as returned.
	Held time.Duration
	// Returned is false for the report that it is held too long, and true
	// for the report that it came back.
	Returned bool
	// Stack is where it was taken: the stack of the goroutine that
	// checked it out, innermost first, one "function\n\tfile:line\n" a
	// frame, from the first frame that is not the pool's own on.
	Stack string
}

// Holds measures how long a pool's connections are held, from checkout to
// return, and reports those held too long: what this package's Connector
// and contrib/pgx's Tracer use, and what a pool of your own can use.
// Create it with NewHolds; it is safe for concurrent use.
//
// Without leak detection, Acquire and Release cost a clock read each and
// a Recorder's Observe, and allocate nothing. With it, Acquire also
// captures the stack (up to 32 frames, unformatted) and starts one timer,
// which Release stops: a connection returned in time is never reported,
// and its stack never formatted.
type Holds struct {
	pool       string
	leakAfter  time.Duration
	onLeak     func(Leak)
	poolFrames []string

	hold  Recorder
	open  atomic.Int64
	leaks atomic.Uint64
}

// NewHolds returns a Holds, or an error naming the first invalid field.
func NewHolds(cfg HoldsConfig) (*Holds, error) {
	if err := durations.Check("poolwait", "HoldsConfig.LeakAfter", cfg.LeakAfter); err != nil {
		return nil, err
	}
	for _, p := range cfg.PoolFrames {
		if p == "" {
			return nil, errors.New("poolwait: HoldsConfig.PoolFrames has an empty prefix, which would leave every frame out")
		}
	}
	h := &Holds{pool: cfg.Pool, leakAfter: cfg.LeakAfter, onLeak: cfg.OnLeak, poolFrames: cfg.PoolFrames}
	if h.onLeak == nil {
		h.onLeak = logLeak
	}
	return h, nil
}

// Held is one checkout of a connection, from Acquire to Release. Its zero
// value is no checkout: Release ignores it.
type Held struct {
	start int64      // monotime; 0: no checkout
	watch *leakWatch // nil without leak detection
}

// leakWatch is a checkout's leak detection: where it was taken, and the
// timer that reports it held too long.
type leakWatch struct {
	h     *Holds
	pcs   []uintptr
	timer *time.Timer

	mu       sync.Mutex
	reported bool // the timer reported it held too long
	released bool
}

// maxLeakFrames bounds a leak's stack: deep enough to reach a handler
// through a router and middleware, small enough to keep per checkout.
const maxLeakFrames = 32

// Acquire records a checkout that starts now.
func (h *Holds) Acquire() Held { return h.AcquireAt(monotime.Now()) }

// AcquireAt records a checkout that started at start (a reading of
// internal/monotime, which a pool adapter took already to time the wait).
func (h *Holds) AcquireAt(start int64) Held {
	if h == nil {
		return Held{}
	}
	held := Held{start: start}
	if start == 0 {
		held.start = 1 // 0 means no checkout
	}
	if h.leakAfter > 0 {
		w := &leakWatch{h: h, pcs: make([]uintptr, maxLeakFrames)}
		w.pcs = w.pcs[:runtime.Callers(2, w.pcs)] // from AcquireAt's caller; formatStack trims ours
		w.timer = time.AfterFunc(h.leakAfter, w.expire)
		held.watch = w
	}
	return held
}

// expire is the timer's func: the connection is held too long.
func (w *leakWatch) expire() {
	w.mu.Lock()
	if w.released {
		w.mu.Unlock()
		return
	}
	w.reported = true
	w.mu.Unlock()
	h := w.h
	h.leaks.Add(1)
	h.open.Add(1)
	orphan.Call("poolwait: OnLeak", h.pool, h.onLeak, Leak{Pool: h.pool, Held: h.leakAfter, Stack: h.formatStack(w.pcs)})
}

// Release records the end of the checkout held: its hold time, and, if
// it was reported held too long, the report that it came back.
func (h *Holds) Release(held Held) {
	if h == nil || held.start == 0 {
		return
	}
	d := time.Duration(monotime.Now() - held.start)
	h.hold.Observe(d)
	w := held.watch
	if w == nil {
		return
	}
	w.timer.Stop()
	w.mu.Lock()
	w.released = true
	reported := w.reported
	w.mu.Unlock()
	if reported {
		h.open.Add(-1)
		orphan.Call("poolwait: OnLeak", h.pool, h.onLeak, Leak{Pool: h.pool, Held: d, Returned: true, Stack: h.formatStack(w.pcs)})
	}
}

// Stats returns the hold times so far, how many connections are held past
// the threshold now, and how many ever were.
func (h *Holds) Stats() (hold Stats, openLeaks int, leaks uint64) {
	if h == nil {
		return Stats{}, 0, 0
	}
	return h.hold.Stats(), int(h.open.Load()), h.leaks.Load()
}

// LeakAfter returns HoldsConfig.LeakAfter.
func (h *Holds) LeakAfter() time.Duration {
	if h == nil {
		return 0
	}
	return h.leakAfter
}

// formatStack writes pcs as a stack, one "function\n\tfile:line\n" a
// frame, leaving out the pool's own frames at the top.
func (h *Holds) formatStack(pcs []uintptr) string {
	var b strings.Builder
	frames := runtime.CallersFrames(pcs)
	ours := true
	for {
		f, more := frames.Next()
		if ours && h.isPoolFrame(f.Function) && more {
			continue
		}
		ours = false
		fmt.Fprintf(&b, "%s\n\t%s:%d\n", f.Function, f.File, f.Line)
		if !more {
			break
		}
	}
	return b.String()
}

// ownFrames is this package's functions (its tests are poolwait_test).
const ownFrames = "github.com/watertight-go/watertight/poolwait."

func (h *Holds) isPoolFrame(function string) bool {
	if strings.HasPrefix(function, ownFrames) {
		return true
	}
	for _, p := range h.poolFrames {
		if strings.HasPrefix(function, p) {
			return true
		}
	}
	return false
}

// logLeak is the default OnLeak: a slog warning.
func logLeak(l Leak) {
	if l.Returned {
		slog.Warn("poolwait: a connection held past the leak threshold came back", "pool", l.Pool, "held", l.Held, "stack", l.Stack)
		return
	}
	slog.Warn("poolwait: a connection is held past the leak threshold; it may have leaked", "pool", l.Pool, "held", l.Held, "stack", l.Stack)
}
