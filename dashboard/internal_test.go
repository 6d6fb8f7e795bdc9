package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/poolwait"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func ids(s Snapshot) []string {
	var out []string
	for _, g := range s.Groups {
		for _, c := range g.Cards {
			out = append(out, c.ID)
		}
	}
	return out
}

func TestHostsComeAndGoAndTheirHistoryWithThem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ok := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
		})
		hosts, err := httpguard.PerHost(ok, func(host string) (watertight.Policy, error) {
			return bulkhead.New(bulkhead.Config{Name: host, MaxConcurrent: 4})
		}, httpguard.HostsConfig{MaxHosts: 1, IdleAfter: time.Second})
		require.NoError(t, err)
		d, err := New(hosts)
		require.NoError(t, err)
		send := func(url string) {
			resp, err := hosts.RoundTrip(httptest.NewRequest(http.MethodGet, url, nil))
			require.NoError(t, err)
			resp.Body.Close()
		}

		send("http://a.example/")
		assert.Equal(t, []string{"bulkhead/http://a.example:80"}, ids(d.snapshot()))
		<-time.After(2 * time.Second)
		send("http://b.example/") // a is idle: dropped to make room for b
		assert.Equal(t, []string{"bulkhead/http://b.example:80"}, ids(d.snapshot()))
		assert.Len(t, d.hist, 1, "a's history went with it")
	})
}

func TestTheRingIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 1})
		d, err := New(b)
		require.NoError(t, err)
		for range 3 * HistoryLength {
			b.Do(context.Background(), func(context.Context) error { <-time.After(time.Millisecond); return nil })
			d.snapshot()
			<-time.After(time.Second)
		}
		h := d.hist[b]
		assert.Equal(t, HistoryLength, h.n)
		for i := range h.n {
			assert.LessOrEqual(t, len(h.at(i).waits), 1, "one bucket grew in each second: one kept")
		}
	})
}

func TestConnectionCheckoutsHaveACardPerHost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	cw := poolwait.NewConnWaits()
	base := http.DefaultTransport.(*http.Transport).Clone()
	defer base.CloseIdleConnections()
	rt, err := cw.Transport(base)
	require.NoError(t, err)
	for range 2 {
		resp, err := (&http.Client{Transport: rt}).Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
	}
	d, err := New(cw)
	require.NoError(t, err)
	s := d.snapshot()
	require.Len(t, ids(s), 1)
	c := s.Groups[0].Cards[0]
	assert.Equal(t, "conn_waits/"+srv.URL, c.ID)
	assert.Equal(t, map[string]uint64{"checkouts": 2, "reused": 1, "new": 1, "failed": 0}, c.Totals)
	assert.Equal(t, "wait for a connection", c.Wait.What)
}
