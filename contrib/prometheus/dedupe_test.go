package watertightprom_test

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/timeout"

	watertightprom "github.com/watertight-go/watertight/contrib/prometheus"
)

// gather registers c and gathers once, as a /metrics scrape does: an error
// here is a 500 for every metric.
func gather(t *testing.T, c *watertightprom.Collector) int {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	return len(mfs)
}

// The same instance added alone and inside a chain used to make two
// identical series, and every scrape failed.
func TestSameInstanceTwiceIsExportedOnce(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 1})
	tm := timeout.MustNew(timeout.Config{Name: "payments", Duration: 1e9})
	c := watertightprom.NewCollector()
	require.NoError(t, c.Add(b))
	require.NoError(t, c.Add(watertight.Chain(tm, b), b))
	assert.Positive(t, gather(t, c))
}

func TestTwoInstancesWithOneNameAreAnError(t *testing.T) {
	c := watertightprom.NewCollector()
	require.NoError(t, c.Add(breaker.MustNew(breaker.Config{Name: "db"})))
	err := c.Add(watertight.Chain(breaker.MustNew(breaker.Config{Name: "db"})))
	assert.EqualError(t, err, `watertightprom: Add: two different breaker instances are named "db"; give each a Config.Name of its own`)
	err = c.Add(bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1}), bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1}))
	assert.EqualError(t, err, `watertightprom: Add: two different bulkhead instances are named ""; give each a Config.Name of its own`)
	assert.Positive(t, gather(t, c), "what was refused was not added")
}

// A per-host factory that gives every host's policy one name: the
// collision appears only at run time, and the scrape must still succeed.
func TestPerHostPoliciesWithOneNameStillScrape(t *testing.T) {
	hosts, err := httpguard.PerHost(http.DefaultTransport, func(string) (watertight.Policy, error) {
		return bulkhead.MustNew(bulkhead.Config{Name: "api", MaxConcurrent: 1}), nil
	}, httpguard.HostsConfig{})
	require.NoError(t, err)
	for _, u := range []string{"http://127.0.0.1:1/", "http://127.0.0.1:2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, _ = hosts.RoundTrip(req) // makes the host's policy; nothing listens
	}
	c := watertightprom.NewCollector()
	require.NoError(t, c.Add(hosts, hosts))
	assert.Positive(t, gather(t, c))
}
