package httpguard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/ledger"
)

// A loopback round trip through the guard, beside the same round trip
// without it (the floor). The policy is a bulkhead that never fills.

func roundTrips(b *testing.B, name string, c *http.Client, url string) {
	for _, parallel := range []bool{false, true} {
		sub := name
		if parallel {
			sub += "/parallel"
		}
		b.Run(sub, func(b *testing.B) {
			b.ReportAllocs()
			one := func() {
				resp, err := c.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						one()
					}
				})
				return
			}
			for b.Loop() {
				one()
			}
		})
	}
}

func BenchmarkTransport(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()

	guarded, _ := httpguard.Transport(tr, bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1024}))
	roundTrips(b, "guarded", &http.Client{Transport: guarded}, srv.URL)
	roundTrips(b, "floor=plain", &http.Client{Transport: tr}, srv.URL)
}

// discardSink is a ledger.Sink that keeps nothing.
type discardSink struct{}

func (discardSink) Offer(ledger.Request) {}

func BenchmarkHandler(b *testing.B) {
	okH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	guarded, _ := httpguard.Handler(okH, bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1024}))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}

	srv := httptest.NewServer(guarded)
	roundTrips(b, "guarded", c, srv.URL)
	srv.Close()
	// The same with a ledger per request, offered to a dashboard-like sink
	// that keeps none: no slow path taken.
	withLedger, _ := httpguard.Handler(okH, bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1024}),
		httpguard.WithLedger(httpguard.LedgerConfig{SlowAfter: time.Second, Sink: discardSink{}}))
	srv = httptest.NewServer(withLedger)
	roundTrips(b, "guarded+ledger", c, srv.URL)
	srv.Close()
	plain := httptest.NewServer(okH)
	roundTrips(b, "floor=plain", c, plain.URL)
	plain.Close()
}

// PerHost's lookup of a host it knows, with a transport that answers at
// once: the cost of finding the host's policy and running it.
func BenchmarkPerHostKnownHost(b *testing.B) {
	resp := &http.Response{StatusCode: 200, Body: http.NoBody}
	instant := roundTripper(func(*http.Request) (*http.Response, error) { return resp, nil })
	hosts, _ := httpguard.PerHost(instant, func(string) (watertight.Policy, error) { return watertight.Chain(), nil }, httpguard.HostsConfig{})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1/rates", nil)
	_, _ = hosts.RoundTrip(req)
	b.Run("PerHost", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = hosts.RoundTrip(req)
		}
	})
	b.Run("PerHost/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = hosts.RoundTrip(req)
			}
		})
	})
	b.Run("floor=next", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = instant.RoundTrip(req)
		}
	})
}

// The guard's own cost, without a network: Transport over a RoundTripper
// that answers at once, and Handler serving into a recorder. Compare the
// difference with the loopback round trip above.
func BenchmarkGuardOnly(b *testing.B) {
	resp := &http.Response{StatusCode: 200, Body: http.NoBody}
	instant := roundTripper(func(*http.Request) (*http.Response, error) { return resp, nil })
	guarded, _ := httpguard.Transport(instant, bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1024}))
	req, _ := http.NewRequest(http.MethodGet, "http://api.example.com/", nil)
	b.Run("Transport", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = guarded.RoundTrip(req)
		}
	})
	b.Run("Transport/floor=instant", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = instant.RoundTrip(req)
		}
	})
	okH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h, _ := httpguard.Handler(okH, bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1024}))
	w := httptest.NewRecorder()
	b.Run("Handler", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	})
	b.Run("Handler/floor=plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			okH.ServeHTTP(w, req)
		}
	})
}
