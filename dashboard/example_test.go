package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/dashboard"
)

func ExampleNew() {
	payments := watertight.Chain(
		breaker.MustNew(breaker.Config{Name: "payments"}),
		bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 10}),
	)
	d, err := dashboard.New(payments)
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/watertight/", d)

	// What the page's script reads every second.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/watertight/?format=json", nil))
	var snap dashboard.Snapshot
	if err := json.Unmarshal(rec.Body.Bytes(), &snap); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.Header().Get("Content-Type"))
	for _, g := range snap.Groups {
		for _, c := range g.Cards {
			fmt.Printf("%s: %s (%s)\n", c.ID, c.State, c.Detail)
		}
	}

	_, err = dashboard.New("payments")
	fmt.Println(err)
	// Output:
	// application/json
	// breaker/payments: closed (0 calls in the window)
	// bulkhead/payments: ok (10 of 10 slots free)
	// dashboard: Add: cannot read string; it reads *bulkhead.Bulkhead, *timeout.Timeout, *pool.Pool, *breaker.Breaker, *retry.Retry, *hedge.Hedge, *budget.Budget, *httpguard.Hosts, *poolwait.ConnWaits, a poolwait.Pool (*poolwait.DB, contrib/pgx, contrib/redis), a pool.JobKinds (contrib/river), and a Chain of them
}
