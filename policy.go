package watertight

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/internal/errchain"
	"github.com/watertight-go/watertight/internal/owned"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/internal/withindo"
)

// A Policy runs fn under some protection and returns fn's error, or its own.
//
// Do must not return nil before fn has returned nil: Call relies on it to
// read fn's result without a data race. A policy that refuses to run fn
// returns an error matching ErrRejected.
type Policy interface {
	Do(ctx context.Context, fn func(context.Context) error) error
}

// ErrRejected is matched (errors.Is) by every error a policy returns when it
// refused to run fn at all: bulkhead full, breaker open, pool queue full.
// Such calls never reached the dependency; a server maps them to 503.
var ErrRejected = errors.New("watertight: rejected")

// Chain applies policies outermost first: Chain(a, b).Do(ctx, fn) runs
// a.Do(ctx, func(ctx) error { return b.Do(ctx, fn) }).
//
// Chain() with no policies runs fn directly. A nil policy — nil itself, or
// a nil pointer such as a failed New's result — is a programming error
// reported, without calling fn, by every Do of the returned Policy.
//
// A chain of two or more policies has a method Unwrap() []Policy that
// returns them, outermost first; Unwrap(p) calls it, for code that looks
// inside a policy (an eviction that must not drop an open breaker, a
// metrics exporter).
func Chain(policies ...Policy) Policy {
	for i, p := range policies {
		if typednil.Is(p) {
			return brokenChain{fmt.Errorf("watertight: Chain: policy %d of %d is %s", i, len(policies), typednil.Describe(p))}
		}
	}
	if err := twice(policies); err != nil {
		return brokenChain{err}
	}
	switch len(policies) {
	case 0:
		return direct{}
	case 1:
		return policies[0]
	}
	c := &chain{policies: append([]Policy(nil), policies...)}
	c.frames = make([]framePool, len(policies)-1)
	for i := range c.frames {
		if withindo.Only(policies[i]) {
			c.frames[i].reuse = true
			c.frames[i].pool.New = func() any {
				f := &frame{c: c, next: i + 1}
				f.run = f.call
				return f
			}
		}
	}
	return c
}

// twice returns an error if one instance is in policies twice, also
// through a chain inside: every call would go through it twice, and be
// counted twice. Only instances that hold state are compared (pointers to
// values with a size); Unwrap is followed into chains and user
// composites.
func twice(policies []Policy) error {
	var seen map[Policy]int
	var err error
	var walk func(top int, p Policy)
	walk = func(top int, p Policy) {
		if err != nil {
			return
		}
		if owned.Shareable(p) {
			if seen == nil {
				seen = map[Policy]int{}
			}
			if first, dup := seen[p]; dup {
				err = fmt.Errorf("watertight: Chain: %T %p is in the chain twice (policies %d and %d): each call would go through it, and be counted, twice", p, p, first, top)
				return
			}
			seen[p] = top
		}
		for _, inner := range Unwrap(p) {
			walk(top, inner)
		}
	}
	for i, p := range policies {
		walk(i, p)
	}
	return err
}

// Unwrap returns the policies that p is made of, outermost first: those
// of a Chain, or of any policy with a method Unwrap() []Policy (a user's
// own composite). It returns nil for a policy that is not made of others.
// Unwrap looks one level down; a chained chain is unwrapped by calling it
// again.
func Unwrap(p Policy) []Policy {
	if c, ok := p.(interface{ Unwrap() []Policy }); ok {
		return c.Unwrap()
	}
	return nil
}

// chain runs its policies outermost first. Policy i gets a func that runs
// the policies after it: a frame. A frame handed to a policy that calls fn
// only while its Do runs (ours, but a hedge and an abandoning timeout) is
// reused for the next call, so that a chain of them allocates nothing; any
// other policy gets a new frame per call, because a call of fn after Do
// returned would find the frame reused by another request.
type chain struct {
	policies []Policy
	frames   []framePool // frames[i]: what policies[i] gets
}

// framePool holds the reusable frames of one level, when reuse is set.
type framePool struct {
	reuse bool
	pool  sync.Pool // *frame
}

// frame is the fn of one level: it runs the policies from next on.
type frame struct {
	c    *chain
	next int
	fn   func(context.Context) error // the caller's fn
	run  func(context.Context) error // f.call, bound once
}

func (f *frame) call(ctx context.Context) error { return f.c.from(f.next, ctx, f.fn) }

func (c *chain) Do(ctx context.Context, fn func(context.Context) error) error {
	if ctx == nil {
		return errNilCtx // a user's policy might not say so
	}
	return c.from(0, ctx, fn)
}

var errNilCtx = errors.New("watertight: Chain: Do called with a nil ctx")

// from runs the policies from i on around fn.
func (c *chain) from(i int, ctx context.Context, fn func(context.Context) error) error {
	p := c.policies[i]
	if i == len(c.policies)-1 {
		return p.Do(ctx, fn)
	}
	fp := &c.frames[i]
	if !fp.reuse {
		next := i + 1
		return p.Do(ctx, func(ctx context.Context) error { return c.from(next, ctx, fn) })
	}
	f := fp.pool.Get().(*frame)
	f.fn = fn
	err := p.Do(ctx, f.run)
	f.fn = nil // p called it only within Do: nothing holds f now
	fp.pool.Put(f)
	return err
}

// Unwrap returns the chained policies, outermost first.
func (c *chain) Unwrap() []Policy { return c.policies }

// A chain calls fn only within its Do when each of its policies does.
func init() {
	withindo.Register(func(c *chain) bool {
		for _, p := range c.policies {
			if !withindo.Only(p) {
				return false
			}
		}
		return true
	})
}

// direct is the empty chain: it runs fn as it is.
type direct struct{}

func (direct) Do(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }

// brokenChain reports a Chain built with a nil policy.
type brokenChain struct{ err error }

func (b brokenChain) Do(context.Context, func(context.Context) error) error { return b.err }

// Err is why the chain is broken, for code that reads policies (the
// metric adapters say it instead of "cannot read").
func (b brokenChain) Err() error { return b.err }

// Call runs fn under p and returns fn's value.
//
// A policy may call fn more than once (a retry), and more than once at the
// same time (a hedge): Call returns the value of the first attempt to
// succeed and drops the others, without a data race.
//
// Call returns the zero value of T whenever p returns an error, even if fn
// produced a value: a value that fn produces after p gave up on it (an
// abandoned call) is dropped, without a data race. A nil p or a nil fn is
// an error, and nothing is called. A nil pointer of one of watertight's
// policy types (a failed New's result) returns an error from its Do, so
// Call reports it too; Call does not look into p itself, which would cost
// a reflection on every call.
func Call[T any](ctx context.Context, p Policy, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	switch {
	case p == nil:
		return zero, errors.New("watertight: Call: policy is nil")
	case fn == nil:
		return zero, errors.New("watertight: Call: fn is nil")
	case ctx == nil:
		return zero, errors.New("watertight: Call: ctx is nil")
	}
	// A policy may call fn more than once, also at the same time (a
	// hedge): the first attempt to succeed publishes its value and the
	// others drop theirs. Do returns nil only after some
	// attempt returned nil (the Policy contract), which it did after
	// publishing, so the value is there, whole, when Do returns.
	r := new(result[T])
	err := p.Do(ctx, func(ctx context.Context) error {
		v, err := fn(ctx)
		if err == nil {
			r.publish(v)
		}
		return err
	})
	if err != nil {
		return zero, err
	}
	return r.get(), nil
}

// result is Call's value, written by the first attempt to succeed.
type result[T any] struct {
	state atomic.Int32 // empty, then writing (claimed by the first success), then written
	v     T
}

const (
	empty int32 = iota
	writing
	written
)

func (r *result[T]) publish(v T) {
	if r.state.CompareAndSwap(empty, writing) {
		r.v = v
		r.state.Store(written)
	}
}

// get returns the value once it is written. The first success claims the
// slot before its fn wrapper returns, and Do returns only after some
// wrapper did: the value is written, or being written by an attempt
// running alongside (a hedge that returned on another success), which
// takes a moment.
func (r *result[T]) get() T {
	for r.state.Load() != written {
		runtime.Gosched()
	}
	return r.v
}

// RetryAfter reports how long the caller should wait before trying again,
// when the rejecting policy knows (an open breaker does). It finds, depth
// first like errors.As (but without calling As methods, and without
// allocating), an error in err's chain that has a method
// RetryAfterHint() time.Duration.
func RetryAfter(err error) (time.Duration, bool) {
	if h, ok := errchain.Find(err, hasHint).(hint); ok {
		return h.RetryAfterHint(), true
	}
	return 0, false
}

type hint interface{ RetryAfterHint() time.Duration }

func hasHint(err error) bool { _, ok := err.(hint); return ok }
