package watertightotel_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/retry"

	watertightotel "github.com/watertight-go/watertight/contrib/otel"
)

func register(t *testing.T, values ...any) (*watertightotel.Adapter, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	a, err := watertightotel.Register(mp, values...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Unregister() })
	return a, reader
}

// One spelling of the half-open state for every exporter: half_open, as
// Prometheus has it (this adapter used to say half-open).
func TestBreakerStateSpelling(t *testing.T) {
	br := breaker.MustNew(breaker.Config{Name: "ledger"})
	_, reader := register(t, br)
	got := collect(t, reader)
	assert.Contains(t, got, "watertight.breaker.state{name=ledger,state=half_open}")
	assert.NotContains(t, got, "watertight.breaker.state{name=ledger,state=half-open}")
}

func TestSameInstanceTwiceIsObservedOnceAndNamesMustDiffer(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 1})
	require.NoError(t, b.Do(t.Context(), func(context.Context) error { return nil }))
	a, reader := register(t, b, watertight.Chain(b))
	got := collect(t, reader)
	assert.Equal(t, 1.0, got["watertight.bulkhead.acquired{name=payments}"], "once, not added up twice")

	err := a.Add(bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 2}))
	assert.EqualError(t, err, `watertightotel: Add: two different bulkhead instances are named "payments"; give each a Config.Name of its own`)
}

// A host policy that PerHost dropped must not be kept alive by the
// adapter's memory of its previous snapshot.
func TestDroppedHostPolicyIsNotKeptAlive(t *testing.T) {
	noop := roundTrip(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})
	var first weak.Pointer[bulkhead.Bulkhead]
	hosts, err := httpguard.PerHost(noop, func(host string) (watertight.Policy, error) {
		b := bulkhead.MustNew(bulkhead.Config{Name: host, MaxConcurrent: 1})
		if first.Value() == nil {
			first = weak.Make(b)
		}
		return b, nil
	}, httpguard.HostsConfig{MaxHosts: 1, IdleAfter: time.Nanosecond})
	require.NoError(t, err)
	send := func(u string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := hosts.RoundTrip(req)
		require.NoError(t, err)
	}
	_, reader := register(t, hosts)
	send("http://a/")
	collect(t, reader) // the adapter remembers a's wait snapshot
	send("http://b/")  // a is dropped to make room
	collect(t, reader)
	runtime.GC()
	assert.True(t, first.Value() == nil, "a's bulkhead was collected")
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRetryAndBudget(t *testing.T) {
	shared := budget.MustNew(budget.Config{Name: "ledger"})
	r := retry.MustNew(retry.Config{Name: "ledger-reads", Budget: shared, MaxAttempts: 1})
	_ = r.Do(t.Context(), func(context.Context) error { return errors.New("down") })
	_, reader := register(t, r, shared)
	got := collect(t, reader)
	assert.Equal(t, 1.0, got["watertight.retry.calls{name=ledger-reads}"])
	assert.Equal(t, 1.0, got["watertight.retry.attempts{name=ledger-reads}"])
	assert.Equal(t, 1.0, got["watertight.retry.gave_up{name=ledger-reads,reason=attempts}"])
	assert.Equal(t, 0.0, got["watertight.retry.gave_up{name=ledger-reads,reason=budget}"])
	assert.Equal(t, 1.0, got["watertight.budget.deposits{name=ledger}"], "the shared budget, once")
	assert.Equal(t, 100.0, got["watertight.budget.available{name=ledger}"])
}

func TestHedge(t *testing.T) {
	h := hedge.MustNew(hedge.Config{Name: "search", Delay: time.Second})
	require.NoError(t, h.Do(t.Context(), func(context.Context) error { return nil }))
	_, reader := register(t, h)
	got := collect(t, reader)
	assert.Equal(t, 1.0, got["watertight.hedge.calls{name=search}"])
	assert.Equal(t, 0.0, got["watertight.hedge.hedges{name=search}"])
	assert.Equal(t, 1.0, got["watertight.hedge.delay{name=search}"])
	assert.Equal(t, 1.0, got["watertight.budget.deposits{name=search}"], "the hedge's own budget")
}
