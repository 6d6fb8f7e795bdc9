package watertight_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/timeout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tracer records the order in which policies are entered and left.
type tracer struct {
	name string
	log  *[]string
}

func (p tracer) Do(ctx context.Context, fn func(context.Context) error) error {
	*p.log = append(*p.log, p.name+">")
	err := fn(ctx)
	*p.log = append(*p.log, "<"+p.name)
	return err
}

func TestChainAppliesOutermostFirst(t *testing.T) {
	var log []string
	c := watertight.Chain(tracer{"a", &log}, tracer{"b", &log}, tracer{"c", &log})
	err := c.Do(t.Context(), func(context.Context) error { log = append(log, "fn"); return nil })
	require.NoError(t, err)
	assert.Equal(t, []string{"a>", "b>", "c>", "fn", "<c", "<b", "<a"}, log)
}

func TestChainPassesErrorsAndContext(t *testing.T) {
	type key struct{}
	var log []string
	boom := errors.New("boom")
	c := watertight.Chain(tracer{"a", &log}, tracer{"b", &log})
	ctx := context.WithValue(t.Context(), key{}, 1)
	err := c.Do(ctx, func(ctx context.Context) error {
		assert.Equal(t, 1, ctx.Value(key{}))
		return boom
	})
	assert.Same(t, boom, err)
}

func TestEmptyChainRunsFnDirectly(t *testing.T) {
	calls := 0
	err := watertight.Chain().Do(t.Context(), func(context.Context) error { calls++; return nil })
	assert.NoError(t, err)
	assert.Equal(t, 1, calls)
}

func TestChainUnwrapsToItsPolicies(t *testing.T) {
	var log []string
	a, b := tracer{"a", &log}, tracer{"b", &log}
	u, ok := watertight.Chain(a, b).(interface{ Unwrap() []watertight.Policy })
	require.True(t, ok)
	assert.Equal(t, []watertight.Policy{a, b}, u.Unwrap())
}

func TestChainDoesNotAliasCallersSlice(t *testing.T) {
	var log []string
	policies := []watertight.Policy{tracer{"a", &log}, tracer{"b", &log}}
	c := watertight.Chain(policies...)
	policies[0] = tracer{"x", &log}
	require.NoError(t, c.Do(t.Context(), func(context.Context) error { return nil }))
	assert.Equal(t, []string{"a>", "b>", "<b", "<a"}, log)
}

func TestChainWithNilPolicyReportsItWithoutCallingFn(t *testing.T) {
	var log []string
	c := watertight.Chain(tracer{"a", &log}, nil)
	require.NotNil(t, c)
	err := c.Do(t.Context(), func(context.Context) error { t.Error("fn called"); return nil })
	assert.EqualError(t, err, "watertight: Chain: policy 1 of 2 is nil")
	assert.Empty(t, log)
}

func TestCallReturnsFnsValue(t *testing.T) {
	v, err := watertight.Call(t.Context(), watertight.Chain(), func(context.Context) (int, error) { return 42, nil })
	require.NoError(t, err)
	assert.Equal(t, 42, v)
}

func TestCallReturnsZeroValueOnError(t *testing.T) {
	boom := errors.New("boom")
	v, err := watertight.Call(t.Context(), watertight.Chain(), func(context.Context) (string, error) {
		return "partial", boom
	})
	assert.Same(t, boom, err)
	assert.Empty(t, v)

	refuse := policyFunc(func(context.Context, func(context.Context) error) error { return watertight.ErrRejected })
	v, err = watertight.Call(t.Context(), refuse, func(context.Context) (string, error) { return "x", nil })
	assert.ErrorIs(t, err, watertight.ErrRejected)
	assert.Empty(t, v)

	_, err = watertight.Call[int](t.Context(), nil, func(context.Context) (int, error) { return 1, nil })
	assert.EqualError(t, err, "watertight: Call: policy is nil")
}

type policyFunc func(context.Context, func(context.Context) error) error

func (f policyFunc) Do(ctx context.Context, fn func(context.Context) error) error { return f(ctx, fn) }

// abandoning gives up on fn after d and lets it run on, as timeout's
// Abandon mode does.
func abandoning(d time.Duration) watertight.Policy {
	return policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
		done := make(chan error, 1)
		go func() { done <- fn(ctx) }()
		select {
		case err := <-done:
			return err
		case <-time.After(d):
			return errors.New("gave up")
		}
	})
}

// The value of an abandoned call arrives after Call returned: it is dropped,
// and -race sees no conflicting access.
func TestCallDropsAbandonedValueWithoutRace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unblock, finished := make(chan struct{}), make(chan struct{})
		v, err := watertight.Call(t.Context(), abandoning(10*time.Millisecond), func(context.Context) ([]int, error) {
			defer close(finished)
			<-unblock // still running when the policy gives up
			return []int{1, 2, 3}, nil
		})
		assert.EqualError(t, err, "gave up")
		assert.Nil(t, v)
		close(unblock)
		<-finished
		assert.Nil(t, v)
	})
}

type hint time.Duration

func (h hint) Error() string                 { return "open" }
func (h hint) RetryAfterHint() time.Duration { return time.Duration(h) }

func TestRetryAfter(t *testing.T) {
	d, ok := watertight.RetryAfter(fmt.Errorf("calling api: %w", hint(3*time.Second)))
	assert.True(t, ok)
	assert.Equal(t, 3*time.Second, d)

	_, ok = watertight.RetryAfter(watertight.ErrRejected)
	assert.False(t, ok)
	_, ok = watertight.RetryAfter(nil)
	assert.False(t, ok)
}

func BenchmarkChain(b *testing.B) {
	pass := policyFunc(func(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) })
	nop := func(context.Context) error { return nil }
	ctx := context.Background()
	for _, n := range []int{1, 3} {
		policies := make([]watertight.Policy, n)
		for i := range policies {
			policies[i] = pass
		}
		c := watertight.Chain(policies...)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.Do(ctx, nop)
			}
		})
	}
}

// The same with the real thing: an abandoning timeout around Call.
func TestCallWithAbandoningTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		late := make(chan timeout.Late, 1)
		to := timeout.MustNew(timeout.Config{Duration: 10 * time.Millisecond, Abandon: true,
			OnLate: func(l timeout.Late) { late <- l }})
		unblock := make(chan struct{})
		v, err := watertight.Call(t.Context(), to, func(context.Context) (map[string]int, error) {
			<-unblock // ignores its context
			return map[string]int{"late": 1}, nil
		})
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		assert.Nil(t, v)
		close(unblock)
		assert.NoError(t, (<-late).Err)
		assert.Nil(t, v)
	})
}

// A failed New's (*T)(nil) is not == nil inside a Policy; it used to be
// accepted and panic on the first call.
func TestTypedNilPolicyIsReportedNotCalled(t *testing.T) {
	var tm *timeout.Timeout // what a failed timeout.New returns
	c := watertight.Chain(tm, watertight.Chain())
	err := c.Do(t.Context(), func(context.Context) error { t.Error("fn called"); return nil })
	assert.EqualError(t, err, "watertight: Chain: policy 0 of 2 is a nil *timeout.Timeout")

	// Call does not reflect on p: a nil pointer of ours says so from its Do.
	_, err = watertight.Call(t.Context(), tm, func(context.Context) (int, error) { return 1, nil })
	assert.EqualError(t, err, "timeout: Do called on a nil *Timeout")
	var bh *bulkhead.Bulkhead
	assert.EqualError(t, bh.Do(t.Context(), func(context.Context) error { return nil }), "bulkhead: Do called on a nil *Bulkhead")
	var br *breaker.Breaker
	assert.EqualError(t, br.Do(t.Context(), func(context.Context) error { return nil }), "breaker: Do called on a nil *Breaker")
	var pl *pool.Pool
	assert.EqualError(t, pl.Do(t.Context(), func(context.Context) error { return nil }), "pool: nil *Pool")

	_, err = watertight.Call[int](t.Context(), watertight.Chain(), nil)
	assert.EqualError(t, err, "watertight: Call: fn is nil")
}

func TestUnwrapLooksInsideAChain(t *testing.T) {
	var log []string
	a, b := tracer{"a", &log}, tracer{"b", &log}
	inner := watertight.Chain(a, b)
	outer := watertight.Chain(inner, a)
	assert.Equal(t, []watertight.Policy{inner, a}, watertight.Unwrap(outer))
	assert.Equal(t, []watertight.Policy{a, b}, watertight.Unwrap(watertight.Unwrap(outer)[0]))
	assert.Nil(t, watertight.Unwrap(a))
	assert.Nil(t, watertight.Unwrap(watertight.Chain(a)), "a chain of one is that policy")
}

// Call beside its floor, the same policy's Do with fn's value captured by
// hand: what Call adds is its checks and the result's hand-over.
func BenchmarkCall(b *testing.B) {
	p := policyFunc(func(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) })
	get := func(context.Context) (int, error) { return 1, nil }
	benchtest.SerialAndParallel(b, "Call", watertight.Policy(p), func(p watertight.Policy) {
		_, _ = watertight.Call(context.Background(), p, get)
	})
	benchtest.SerialAndParallel(b, "floor=Do", watertight.Policy(p), func(p watertight.Policy) {
		var v int
		_ = p.Do(context.Background(), func(ctx context.Context) (err error) { v, err = get(ctx); return err })
		_ = v
	})
}

// hedging calls fn twice at once and returns when the first returns nil,
// as a hedge does.
type hedging struct{}

func (hedging) Do(ctx context.Context, fn func(context.Context) error) error {
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- fn(ctx) }()
	}
	if err := <-errs; err == nil {
		return nil
	}
	return <-errs
}

// Two attempts succeed at the same time: Call returns one of their values,
// whole, and -race sees no conflict (it used to write the result twice).
func TestCallWithConcurrentSuccessfulAttempts(t *testing.T) {
	for range 200 {
		var n atomic.Int32
		v, err := watertight.Call(t.Context(), hedging{}, func(context.Context) ([2]int, error) {
			i := int(n.Add(1))
			return [2]int{i, i * 10}, nil
		})
		require.NoError(t, err)
		assert.Contains(t, [][2]int{{1, 10}, {2, 20}}, v)
	}
}

// A retry: the first attempt fails, the second succeeds.
func TestCallKeepsTheSucceedingAttemptsValue(t *testing.T) {
	twice := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
		if err := fn(ctx); err == nil {
			return nil
		}
		return fn(ctx)
	})
	calls := 0
	v, err := watertight.Call(t.Context(), twice, func(context.Context) (string, error) {
		calls++
		if calls == 1 {
			return "partial", errors.New("first fails")
		}
		return "second", nil
	})
	require.NoError(t, err)
	assert.Equal(t, "second", v)
}

// One instance twice in a chain — directly, or through a chain inside —
// would see every call twice: an error from every Do, as a nil policy is.
func TestAnInstanceTwiceInAChainIsAnError(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 1})
	to := timeout.MustNew(timeout.Config{Duration: time.Second})
	for _, c := range []watertight.Policy{
		watertight.Chain(b, b),
		watertight.Chain(b, to, watertight.Chain(to, b)),
		watertight.Chain(watertight.Chain(to, b), b),
	} {
		err := c.Do(t.Context(), func(context.Context) error { t.Error("fn called"); return nil })
		require.Error(t, err)
		assert.Contains(t, err.Error(), "watertight: Chain: *")
		assert.Contains(t, err.Error(), "is in the chain twice")
	}
	// Policies that hold no state may come twice.
	pass := policyFunc(func(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) })
	assert.NoError(t, watertight.Chain(pass, pass).Do(t.Context(), func(context.Context) error { return nil }))
}

// A chain of policies that call fn only within their Do allocates nothing
// per call; around a policy that may call fn later (a hedge, an abandoning
// timeout, a user's), each call gets its own fn, so a late call runs the
// right request's fn.
func TestChainAllocations(t *testing.T) {
	ours := watertight.Chain(
		timeout.MustNew(timeout.Config{Duration: time.Second}),
		breaker.MustNew(breaker.Config{WindowCalls: 100}),
		bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 8}),
		bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 8}),
	)
	nop := func(context.Context) error { return nil }
	ctx := context.Background()
	if !raceEnabled {
		allocs := testing.AllocsPerRun(1000, func() { _ = ours.Do(ctx, nop) })
		alone := testing.AllocsPerRun(1000, func() { _ = watertight.Unwrap(ours)[0].Do(ctx, nop) })
		assert.Equal(t, alone, allocs, "the chain adds no allocation to its timeout's")
	}

	// A policy that keeps fn and calls it after its Do returned: each
	// call's fn runs its own request.
	keep := &keeper{}
	c := watertight.Chain(keep, bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 8}))
	var got []int
	for i := range 3 {
		require.NoError(t, c.Do(ctx, func(context.Context) error { got = append(got, i); return nil }))
	}
	for _, fn := range keep.kept {
		require.NoError(t, fn(ctx))
	}
	assert.Equal(t, []int{0, 1, 2, 0, 1, 2}, got)
}

type keeper struct{ kept []func(context.Context) error }

func (k *keeper) Do(ctx context.Context, fn func(context.Context) error) error {
	k.kept = append(k.kept, fn)
	return fn(ctx)
}
