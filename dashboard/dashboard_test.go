package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/dashboard"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMain(m *testing.M) {
	time.Local = time.UTC // the page prints clock times in the server's zone
	goleak.VerifyTestMain(m)
}

// get serves one request and returns the response.
func get(t *testing.T, h http.Handler, target string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func snapshot(t *testing.T, h http.Handler) dashboard.Snapshot {
	t.Helper()
	resp := get(t, h, "/debug/watertight/?format=json")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var s dashboard.Snapshot
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	return s
}

func card(t *testing.T, s dashboard.Snapshot, id string) dashboard.Card {
	t.Helper()
	for _, g := range s.Groups {
		for _, c := range g.Cards {
			if c.ID == id {
				return c
			}
		}
	}
	t.Fatalf("no card %q in %+v", id, s)
	return dashboard.Card{}
}

// incident is a known set of instances in a known state, inside a
// bubble: the payments chain with its breaker open and a timeout that
// fired, a full search bulkhead that turned a call away, and a jobs pool.
type incident struct {
	d        *dashboard.Dashboard
	release  func()
	wg       sync.WaitGroup
	payments *breaker.Breaker
}

func newIncident(t *testing.T) *incident {
	total := timeout.MustNew(timeout.Config{Name: "payments", Duration: 2 * time.Second})
	attempt := timeout.MustNew(timeout.Config{Name: "payments-attempt", Duration: 100 * time.Millisecond})
	shared := budget.MustNew(budget.Config{Name: "payments"})
	r := retry.MustNew(retry.Config{Name: "payments", Budget: shared, Backoff: func() backoff.BackOff { return backoff.NewConstantBackOff(10 * time.Millisecond) }})
	br := breaker.MustNew(breaker.Config{Name: "payments", WindowCalls: 4, MinCalls: 4, OpenBackoff: backoff.NewConstantBackOff(5 * time.Second)})
	bh := bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 4})
	chain := watertight.Chain(total, r, br, bh, attempt)
	search := bulkhead.MustNew(bulkhead.Config{Name: "search", MaxConcurrent: 2})
	jobs := pool.MustNew(pool.Config{Name: "jobs", Workers: 2, QueueSize: 8})
	h := hedge.MustNew(hedge.Config{Name: "search", Delay: 20 * time.Millisecond})
	t.Cleanup(func() { jobs.Close(context.Background()) })

	d, err := dashboard.New(chain, search, jobs, h)
	require.NoError(t, err)
	in := &incident{d: d, payments: br}

	// The first read: every instance's first sample.
	snapshot(t, d)
	start := time.Now()

	// In the next second: payments time out until the breaker opens, the
	// search bulkhead fills and turns one away, the jobs pool runs a task.
	for _, path := range []string{"/checkout", "/refund"} {
		ctx, l := ledger.Start(context.Background())
		err := chain.Do(ctx, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		require.Error(t, err)
		elapsed := l.Finish()
		d.Offer(ledger.Request{Method: http.MethodPost, Path: path, Status: http.StatusGatewayTimeout, Start: l.Started(), Elapsed: elapsed, Ledger: l})
	}
	hold := make(chan struct{})
	in.release = sync.OnceFunc(func() { close(hold); in.wg.Wait() })
	t.Cleanup(in.release)
	for range 2 {
		in.wg.Go(func() { search.Do(context.Background(), func(context.Context) error { <-hold; return nil }) })
	}
	synctest.Wait()
	require.ErrorIs(t, search.Do(context.Background(), func(context.Context) error { return nil }), bulkhead.ErrFull)
	require.NoError(t, jobs.Do(context.Background(), func(context.Context) error { return nil }))
	require.NoError(t, h.Do(context.Background(), func(context.Context) error { return nil }))
	<-time.After(time.Until(start.Add(time.Second))) // 1 s after the first read
	return in
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./dashboard -update to write it")
	assert.Equal(t, string(want), got, "%s differs; if the change is right, run go test ./dashboard -update", path)
}

func TestGoldenPageAndJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newIncident(t)
		resp := get(t, in.d, "/debug/watertight/?format=json")
		var indented bytes.Buffer
		require.NoError(t, json.Indent(&indented, []byte(body(t, resp)), "", "  "))
		golden(t, "snapshot.json", indented.String()+"\n")

		// The page a second later, from the same history.
		<-time.After(time.Second)
		resp = get(t, in.d, "/debug/watertight/")
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		golden(t, "page.html", body(t, resp))
	})
}

func TestAnOpenBreakerAFullBulkheadAndAFiredTimeoutShowAsSuch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newIncident(t)
		s := snapshot(t, in.d)

		br := card(t, s, "breaker/payments")
		assert.Equal(t, "open", br.State)
		assert.Equal(t, "refusing", br.Status)
		assert.Contains(t, br.Detail, "left of 5.0 s")
		require.Len(t, br.Transitions, 1)
		assert.Equal(t, dashboard.Transition{At: br.Transitions[0].At, From: "closed", To: "open", Reason: "failure rate", OpenPeriodSeconds: 5}, br.Transitions[0])

		search := card(t, s, "bulkhead/search")
		assert.Equal(t, "refusing", search.State, "it turned a call away in the last second")
		assert.Equal(t, 2, *search.InFlight)
		assert.Equal(t, 2, *search.Limit)

		attempt := card(t, s, "timeout/payments-attempt")
		assert.Equal(t, "exceeded", attempt.State)
		assert.Equal(t, "warn", attempt.Status)
		assert.Equal(t, uint64(4), attempt.Totals["exceeded"], "two calls of two attempts each")

		ids := []string{}
		for _, tr := range s.Summary {
			ids = append(ids, tr.ID)
		}
		assert.Equal(t, []string{"breaker/payments", "bulkhead/search", "retry/payments", "timeout/payments-attempt"}, ids,
			"refusing first, then the warnings; most rejections per second first, then in the order of the cards")

		// A second on, nothing new was turned away: the search bulkhead is
		// full, not refusing; the open breaker still refuses, with less
		// time left.
		<-time.After(time.Second)
		s = snapshot(t, in.d)
		assert.Equal(t, "full", card(t, s, "bulkhead/search").State)
		assert.Equal(t, "warn", card(t, s, "bulkhead/search").Status)
		assert.Equal(t, "refusing", card(t, s, "breaker/payments").Status)

		// The open period ends: the next read, not a second later, shows
		// the breaker half-open.
		<-time.After(5 * time.Second)
		s = snapshot(t, in.d)
		assert.Equal(t, "half_open", card(t, s, "breaker/payments").State)
		in.release()
		s = snapshot(t, in.d)
		assert.Equal(t, "ok", card(t, s, "bulkhead/search").State)
	})
}

func TestNamesAreEscaped(t *testing.T) {
	b := bulkhead.MustNew(bulkhead.Config{Name: `<script>alert("x")</script>`, MaxConcurrent: 1})
	d, err := dashboard.New(b)
	require.NoError(t, err)
	page := body(t, get(t, d, "/debug/watertight/"))
	assert.NotContains(t, page, `<script>alert`)
	assert.Contains(t, page, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`)
	assert.Equal(t, 1, strings.Count(page, "<script>"), "only the page's own script")

	s := snapshot(t, d)
	assert.Equal(t, `bulkhead/<script>alert("x")</script>`, s.Groups[0].Cards[0].ID, "JSON carries the name as it is")
}

func TestAddRefusesWhatItCannotShow(t *testing.T) {
	a := bulkhead.MustNew(bulkhead.Config{Name: "a", MaxConcurrent: 1})
	other := bulkhead.MustNew(bulkhead.Config{Name: "a", MaxConcurrent: 2})
	var nilBreaker *breaker.Breaker
	for _, tc := range []struct {
		values []any
		want   string
	}{
		{[]any{"payments"}, "dashboard: Add: cannot read string; it reads *bulkhead.Bulkhead, *timeout.Timeout, *pool.Pool, *breaker.Breaker, *retry.Retry, *hedge.Hedge, *budget.Budget, *httpguard.Hosts, *poolwait.ConnWaits, a poolwait.Pool (*poolwait.DB, contrib/pgx, contrib/redis), a pool.JobKinds (contrib/river), and a Chain of them"},
		{[]any{nil}, "dashboard: Add: cannot read <nil>; it reads *bulkhead.Bulkhead, *timeout.Timeout, *pool.Pool, *breaker.Breaker, *retry.Retry, *hedge.Hedge, *budget.Budget, *httpguard.Hosts, *poolwait.ConnWaits, a poolwait.Pool (*poolwait.DB, contrib/pgx, contrib/redis), a pool.JobKinds (contrib/river), and a Chain of them"},
		{[]any{nilBreaker}, "dashboard: Add: nil *breaker.Breaker"},
		{[]any{a, watertight.Chain(other)}, `dashboard: Add: two different bulkhead instances are named "a"`},
	} {
		_, err := dashboard.New(tc.values...)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}

	d, err := dashboard.New(a)
	require.NoError(t, err)
	require.Error(t, d.Add(other), "a duplicate name with what is there already")
	require.NoError(t, d.Add(watertight.Chain(a), a), "the same instance again")
	s := snapshot(t, d)
	require.Len(t, s.Groups, 1)
	assert.Len(t, s.Groups[0].Cards, 1, "one card for one instance, however often it was added")

	var zero dashboard.Dashboard
	require.NoError(t, zero.Add(a), "the zero Dashboard is ready")
	assert.Len(t, snapshot(t, &zero).Groups, 1)
}

func TestMethodsAndFormats(t *testing.T) {
	d, err := dashboard.New()
	require.NoError(t, err)

	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/debug/watertight/", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))

	resp := get(t, d, "/debug/watertight/?format=xml")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, body(t, resp), `unknown format "xml"`)

	resp = get(t, d, "/debug/watertight/")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "default-src 'none'")
	assert.Contains(t, csp, "connect-src 'self'")
	assert.Contains(t, csp, "script-src 'sha256-")
	assert.Contains(t, body(t, resp), "Nothing is refusing calls or in trouble.")

	s := snapshot(t, d)
	assert.Empty(t, s.Groups)
	assert.NotNil(t, s.Groups, "an empty list, not null")
	assert.NotNil(t, s.Summary)
}

func TestRatesAndWaitsCoverTheLastMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 1, MaxQueue: 10})
		d, err := dashboard.New(b)
		require.NoError(t, err)

		// 90 s of 10 calls a second, each holding the slot 20 ms while the
		// next one waits for it; the page read every second.
		for range 90 {
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					b.Do(context.Background(), func(context.Context) error { <-time.After(20 * time.Millisecond); return nil })
				})
			}
			wg.Wait()
			<-time.After(time.Second - 200*time.Millisecond)
			snapshot(t, d)
		}
		c := card(t, snapshot(t, d), "bulkhead/db")
		assert.Equal(t, 60.0, c.Rates.WindowSeconds, "the oldest sample of the last minute")
		assert.InDelta(t, 10, c.Rates.Calls, 0.001)
		require.NotNil(t, c.Wait)
		assert.Equal(t, uint64(600), c.Wait.Count, "the waits of the last minute only")
		assert.InDelta(t, 80, c.Wait.P50MS, 80*0.07, "waits of 0, 20, ... 180 ms: the fifth")
		assert.InDelta(t, 180, c.Wait.P99MS, 180*0.07)
		assert.Len(t, c.Wait.Points, 60, "a point a second")
	})
}

func TestSamplesAtMostOnceASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 1})
		d, err := dashboard.New(b)
		require.NoError(t, err)
		call := func() { b.Do(context.Background(), func(context.Context) error { return nil }) }
		c := card(t, snapshot(t, d), "bulkhead/db")
		assert.Zero(t, c.Rates.WindowSeconds, "the first read: no rates yet")
		for range 50 { // fifty reads in half a second, a call before each
			<-time.After(10 * time.Millisecond)
			call()
			snapshot(t, d)
		}
		c = card(t, snapshot(t, d), "bulkhead/db")
		assert.Equal(t, 0.5, c.Rates.WindowSeconds, "since the first sample")
		assert.Equal(t, 100.0, c.Rates.Calls)
		assert.Empty(t, c.Wait.Points, "no sample since the first: no interval to chart")
		assert.Equal(t, uint64(50), c.Wait.Count, "the waits since the first sample")

		<-time.After(time.Second)
		call()
		c = card(t, snapshot(t, d), "bulkhead/db")
		assert.Equal(t, 1.5, c.Rates.WindowSeconds)
		assert.InDelta(t, 51/1.5, c.Rates.Calls, 0.001)
		assert.Len(t, c.Wait.Points, 1, "a second sample, and the interval before it")
		assert.Equal(t, uint64(51), c.Wait.Count)
	})
}
