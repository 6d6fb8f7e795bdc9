package watertight_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/adaptive"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// Every exported method of every instance type, called on a nil pointer
// with zero arguments (a nil ctx, a nil fn), returns — an error, a zero
// value, nothing — and never panics: one rule for all of them, the one Do
// already followed.
func TestEveryMethodOnANilPointerReturns(t *testing.T) {
	for _, v := range []any{
		(*bulkhead.Bulkhead)(nil), (*breaker.Breaker)(nil), (*timeout.Timeout)(nil), (*pool.Pool)(nil),
		(*retry.Retry)(nil), (*hedge.Hedge)(nil), (*budget.Budget)(nil), (*poolwait.Recorder)(nil),
		(*poolwait.DB)(nil), (*poolwait.ConnWaits)(nil),
	} {
		rv := reflect.ValueOf(v)
		for i := range rv.NumMethod() {
			m := rv.Type().Method(i)
			args := make([]reflect.Value, m.Type.NumIn()-1)
			for j := range args {
				args[j] = reflect.Zero(m.Type.In(j + 1))
			}
			if m.Type.IsVariadic() {
				args = args[:len(args)-1]
			}
			name := rv.Type().String() + "." + m.Name
			assert.NotPanics(t, func() { rv.Method(i).Call(args) }, name)
		}
	}
}

// Every Do with a nil ctx returns an error that says so, and calls
// nothing.
func TestDoWithANilCtxIsAnError(t *testing.T) {
	p := pool.MustNew(pool.Config{Workers: 1})
	defer p.Close(context.Background())
	l, _ := adaptive.AIMD(adaptive.AIMDConfig{})
	for _, pol := range []watertight.Policy{
		bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1}),
		bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1, Limit: l}),
		breaker.MustNew(breaker.Config{}),
		timeout.MustNew(timeout.Config{Duration: time.Second}),
		timeout.MustNew(timeout.Config{Duration: time.Second, Abandon: true}),
		p,
		retry.MustNew(retry.Config{}),
		hedge.MustNew(hedge.Config{}),
		watertight.Chain(retry.MustNew(retry.Config{}), bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})),
	} {
		var nilCtx context.Context
		err := pol.Do(nilCtx, func(context.Context) error { t.Errorf("%T called fn with a nil ctx", pol); return nil })
		if assert.Error(t, err, "%T", pol) {
			assert.True(t, strings.Contains(err.Error(), "nil ctx"), "%T: %v", pol, err)
		}
	}
}
