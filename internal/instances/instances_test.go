package instances_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/internal/instances"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheck(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	assert.NoError(t, instances.Check("x", []any{b, watertight.Chain(b, watertight.Chain())}))
	err := instances.Check("x", []any{watertight.Chain(b, b)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "x: watertight: Chain: *bulkhead.Bulkhead")
	assert.EqualError(t, instances.Check("x: Add", []any{b, "y"}), "x: Add: cannot read string; it reads *bulkhead.Bulkhead, *timeout.Timeout, *pool.Pool, *breaker.Breaker, *retry.Retry, *hedge.Hedge, *budget.Budget, *httpguard.Hosts, *poolwait.ConnWaits, a poolwait.Pool (*poolwait.DB, contrib/pgx, contrib/redis), a pool.JobKinds (contrib/river), and a Chain of them")
	var nilBreaker *breaker.Breaker
	assert.EqualError(t, instances.Check("x: Add", []any{nilBreaker}), "x: Add: nil *breaker.Breaker")
}

func TestWalkFindsInstancesInChainsAndHosts(t *testing.T) {
	inner := bulkhead.MustNew(bulkhead.Config{Name: "inner", MaxConcurrent: 1})
	br := breaker.MustNew(breaker.Config{Name: "b"})
	hosts, err := httpguard.PerHost(http.DefaultTransport, func(string) (watertight.Policy, error) {
		return watertight.Chain(br, inner), nil
	}, httpguard.HostsConfig{})
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1", nil)
	_, _ = hosts.RoundTrip(req) // creates the host's policy; the request itself fails

	var seen []any
	instances.Walk(hosts, func(v any) { seen = append(seen, v) })
	require.Len(t, seen, 4, "the hosts, the chain, and the two policies in it")
	assert.Same(t, hosts, seen[0])
	assert.Same(t, br, seen[2])
	assert.Same(t, inner, seen[3])
}
