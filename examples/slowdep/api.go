package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/dashboard"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/timeout"
)

// api is the service under load. /item reads a row: the healthy endpoint.
// /enrich reads a row, then calls the external API for a price while it
// still holds its database connection — the mistake the incident grows
// from, kept in both runs: the protected run fixes it with watertight
// alone, without restructuring the handler.
type api struct {
	db        database
	priceURL  string
	client    *http.Client
	transport *http.Transport
	protected bool
	requests  *timeout.Timeout // the protected run's bound on every request
	dashboard *dashboard.Dashboard
	ledgers   *breakdowns // where requests' time went, in both runs

	breakerOpened atomic.Int64 // UnixNano when the breaker first opened; 0 before
}

// The protection, sized to the pool: at most 4 of the 10 database
// connections can be held waiting on the external API, each for at most
// 200 ms; a breaker stops calling it once it is failing; every request is
// bounded by 1 s.
const (
	dashboardPath   = "/debug/watertight/"
	externalSlots   = 4
	externalTimeout = 200 * time.Millisecond
	requestTimeout  = time.Second
)

func newAPI(db database, priceURL string, protected bool) (*api, error) {
	a := &api{db: db, priceURL: priceURL, protected: protected, transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	a.ledgers = &breakdowns{mode: "unprotected"}
	if protected {
		a.ledgers.mode = "protected"
	}
	// The unprotected default: no timeout at all. Through a Transport
	// with no policy only so that its calls show in the requests' ledgers.
	plain, err := httpguard.Transport(a.transport, watertight.Chain(), httpguard.WithName("prices"))
	if err != nil {
		return nil, err
	}
	a.client = &http.Client{Transport: plain}
	if protected {
		prices := watertight.Chain(
			breaker.MustNew(breaker.Config{Name: "prices", Window: 5 * time.Second, MinCalls: 10, SlowCall: externalTimeout,
				OnStateChange: func(c breaker.StateChange) {
					if c.To == breaker.Open {
						a.breakerOpened.CompareAndSwap(0, time.Now().UnixNano())
					}
				}}),
			bulkhead.MustNew(bulkhead.Config{Name: "prices", MaxConcurrent: externalSlots}),
			timeout.MustNew(timeout.Config{Name: "prices", Duration: externalTimeout}),
		)
		guarded, err := httpguard.Transport(a.transport, prices, httpguard.WithName("prices"))
		if err != nil {
			return nil, err
		}
		a.client = &http.Client{Transport: guarded}
		a.requests = timeout.MustNew(timeout.Config{Name: "request", Duration: requestTimeout})
		// The live page of both, and of the database pool, for whoever
		// is on call.
		if a.dashboard, err = dashboard.New(prices, a.requests); err != nil {
			return nil, err
		}
		if db != nil {
			if err := a.dashboard.Add(db.pool()); err != nil {
				return nil, err
			}
		}
		a.ledgers.dashboard = a.dashboard // and its slowest requests
	}
	return a, nil
}

func (a *api) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/item", a.guard(http.HandlerFunc(a.item)))
	mux.Handle("/enrich", a.guard(http.HandlerFunc(a.enrich)))
	if a.dashboard != nil {
		mux.Handle(dashboardPath, a.dashboard)
	}
	return mux
}

// guard bounds every request of the protected run: a request that cannot
// get a database connection within a second gets a 504, not a hang. Both
// runs keep a ledger of every request, and log the first slow one of each
// endpoint with where its time went; the unprotected run's Handler has no
// policy, only the ledger.
func (a *api) guard(h http.Handler) http.Handler {
	var p watertight.Policy = watertight.Chain()
	if a.protected {
		p = a.requests
	}
	g, err := httpguard.Handler(h, p, httpguard.WithLedger(httpguard.LedgerConfig{
		SlowAfter: slowAfter, Logger: a.ledgers.logger(), Sink: a.ledgers,
	}))
	if err != nil {
		panic(err) // only for a nil handler or policy, or a bad config, which these are not
	}
	return g
}

func (a *api) close() { a.transport.CloseIdleConnections() }

func (a *api) item(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	conn, err := a.db.checkout(ctx)
	if err != nil {
		fail(w, r, err)
		return
	}
	defer conn.release()
	name, err := conn.itemName(ctx, r.URL.Query().Get("id"))
	if err != nil {
		fail(w, r, err)
		return
	}
	fmt.Fprintln(w, name)
}

func (a *api) enrich(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	conn, err := a.db.checkout(ctx) // held until the handler returns
	if err != nil {
		fail(w, r, err)
		return
	}
	defer conn.release()
	name, err := conn.itemName(ctx, r.URL.Query().Get("id"))
	if err != nil {
		fail(w, r, err)
		return
	}
	price, err := a.price(ctx, r.URL.Query().Get("id"))
	if err != nil {
		fail(w, r, err)
		return
	}
	fmt.Fprintln(w, name, price)
}

// price calls the external API.
func (a *api) price(ctx context.Context, id string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.priceURL+"/price?id="+id, nil)
	if err != nil {
		return "", err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// fail answers for an error: 503 with Retry-After when a policy refused
// (the external API is known to be down, or its slots are taken), 504 for
// a deadline, 500 otherwise.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, watertight.ErrRejected):
		w.Header().Set("Retry-After", httpguard.RetryAfterSeconds(err))
		http.Error(w, "price service unavailable", http.StatusServiceUnavailable)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, timeout.ErrExceeded):
		http.Error(w, "timed out", http.StatusGatewayTimeout)
	case r.Context().Err() != nil:
		// the client is gone; nobody reads this
	default:
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}
