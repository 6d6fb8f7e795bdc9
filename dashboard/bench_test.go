package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/dashboard"
	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// thousand returns 1,000 instances (250 chains of a timeout, a retry and
// its budget, a breaker and a bulkhead, each of which has served calls),
// and a dashboard of them that has sampled them once already.
func thousand(b *testing.B) ([]any, *dashboard.Dashboard) {
	var chains []any
	var instances []any
	for i := range 200 {
		name := fmt.Sprintf("dependency-%03d", i)
		tm := timeout.MustNew(timeout.Config{Name: name, Duration: time.Second})
		r := retry.MustNew(retry.Config{Name: name})
		br := breaker.MustNew(breaker.Config{Name: name})
		bh := bulkhead.MustNew(bulkhead.Config{Name: name, MaxConcurrent: 10})
		c := watertight.Chain(tm, r, br, bh)
		for range 20 {
			c.Do(context.Background(), func(context.Context) error { return nil })
		}
		chains = append(chains, c)
		instances = append(instances, tm, r, r.Budget(), br, bh)
	}
	d, err := dashboard.New(chains...)
	if err != nil {
		b.Fatal(err)
	}
	serve(d, "/debug/watertight/")
	return instances, d
}

func serve(d *dashboard.Dashboard, target string) {
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	io.Copy(io.Discard, rec.Body)
}

// BenchmarkServeThousandInstances serves the page and the JSON of 1,000
// instances; its floor reads the Stats of the same 1,000 and renders
// nothing. The target is 50 ms a page.
func BenchmarkServeThousandInstances(b *testing.B) {
	instances, d := thousand(b)
	benchtest.SerialAndParallel(b, "html", d, func(d *dashboard.Dashboard) { serve(d, "/debug/watertight/") })
	benchtest.SerialAndParallel(b, "json", d, func(d *dashboard.Dashboard) { serve(d, "/debug/watertight/?format=json") })
	benchtest.SerialAndParallel(b, "floor/stats-only", instances, readStats)
}

func readStats(instances []any) {
	for _, v := range instances {
		switch v := v.(type) {
		case interface{ Stats() timeout.Stats }:
			_ = v.Stats()
		case interface{ Stats() retry.Stats }:
			_ = v.Stats()
		case interface{ Stats() breaker.Stats }:
			_ = v.Stats()
		case interface{ Stats() bulkhead.Stats }:
			_ = v.Stats()
		}
	}
}
