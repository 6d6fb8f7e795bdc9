package httpguard_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// sink keeps what it is offered.
type sink struct {
	mu   sync.Mutex
	reqs []ledger.Request
}

func (s *sink) Offer(r ledger.Request) { s.mu.Lock(); s.reqs = append(s.reqs, r); s.mu.Unlock() }

func textLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}

// The issue's own request: through Handler, then a chain (timeout, retry,
// breaker, bulkhead, attempt timeout) and Transport, where the bulkhead
// makes it wait 30 ms, the first attempt times out at 100 ms, the backoff
// is 20 ms and the second attempt takes 50 ms. The ledger holds exactly
// those entries, in order, with those durations; Server-Timing, the slow
// request's log record and the Sink show them.
func TestWhereARequestsTimeWent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls int
		var mu sync.Mutex
		dep := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			mu.Lock()
			calls++
			n := calls
			mu.Unlock()
			if n == 1 {
				<-req.Context().Done() // hangs until the attempt timeout
				return nil, req.Context().Err()
			}
			<-time.After(50 * time.Millisecond)
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("charged")), Request: req}, nil
		})
		bh := bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 1, MaxQueue: 1})
		policy := watertight.Chain(
			timeout.MustNew(timeout.Config{Name: "payments", Duration: time.Second}),
			retry.MustNew(retry.Config{Name: "payments", Budget: budget.MustNew(budget.Config{Ratio: 1}),
				Backoff: func() backoff.BackOff { return backoff.NewConstantBackOff(20 * time.Millisecond) }}),
			breaker.MustNew(breaker.Config{Name: "payments"}),
			bh,
			timeout.MustNew(timeout.Config{Name: "payments-attempt", Duration: 100 * time.Millisecond}),
		)
		rt, err := httpguard.Transport(dep, policy)
		require.NoError(t, err)
		client := &http.Client{Transport: rt}

		var logged bytes.Buffer
		finished := &sink{}
		var inHandler *ledger.Ledger
		h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inHandler = ledger.From(r.Context())
			req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://payments.internal/charge", nil)
			resp, err := client.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			_, _ = io.Copy(w, resp.Body)
		}), watertight.Chain(), httpguard.WithLedger(httpguard.LedgerConfig{
			ServerTiming: true, SlowAfter: 100 * time.Millisecond, Logger: textLogger(&logged), Sink: finished,
		}))

		// Another call holds the bulkhead's slot for the first 30 ms.
		release, err := bh.Acquire(context.Background())
		require.NoError(t, err)
		go func() { <-time.After(30 * time.Millisecond); release() }()

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/checkout", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "charged", rec.Body.String())

		ms := time.Millisecond
		require.NotNil(t, inHandler)
		assert.Equal(t, []ledger.Entry{
			{Name: "payments", Kind: ledger.Wait, Start: 0, Duration: 30 * ms},
			{Name: "payments.internal", Kind: ledger.Attempt, Start: 30 * ms, Duration: 100 * ms, Outcome: "timeout"},
			{Name: "payments-attempt", Kind: ledger.Expired, Start: 30 * ms, Duration: 100 * ms},
			{Name: "payments", Kind: ledger.Backoff, Start: 130 * ms, Duration: 20 * ms},
			{Name: "payments.internal", Kind: ledger.Attempt, Start: 150 * ms, Duration: 50 * ms},
			{Name: "payments", Kind: ledger.Attempt, Start: 150 * ms, Duration: 50 * ms},
		}, inHandler.Entries())
		assert.Equal(t, 200*ms, inHandler.Elapsed())

		assert.Equal(t, `payments.wait;dur=30.0;desc="payments: 1 wait", `+
			`payments.internal.attempt;dur=150.0;desc="payments.internal: 2 attempts, 1 not ok", `+
			`payments-attempt.expired;dur=100.0;desc="payments-attempt: 1 expired", `+
			`payments.backoff;dur=20.0;desc="payments: 1 backoff", `+
			`payments.attempt;dur=50.0;desc="payments: 1 attempt", total;dur=200.0`, rec.Header().Get("Server-Timing"))

		assert.Equal(t, `level=WARN msg="slow request" method=GET path=/checkout status=200 elapsed=200ms `+
			`ledger.payments.wait.dur=30ms ledger.payments.internal.attempt.dur=150ms ledger.payments.internal.attempt.n=2 ledger.payments.internal.attempt.not_ok=1 `+
			`ledger.payments-attempt.expired.dur=100ms ledger.payments.backoff.dur=20ms ledger.payments.attempt.dur=50ms`+"\n", logged.String())

		require.Len(t, finished.reqs, 1)
		got := finished.reqs[0]
		assert.Equal(t, "GET", got.Method)
		assert.Equal(t, "/checkout", got.Path)
		assert.Equal(t, http.StatusOK, got.Status)
		assert.Equal(t, 200*ms, got.Elapsed)
		assert.Same(t, inHandler, got.Ledger)
	})
}

// A hedged call: both attempts are in the ledger, the winner's as it
// ended and the loser's "lost"; what the loser records after the request
// is answered goes to no one's ledger.
func TestHedgeInTheLedger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dep := &replicas{first: time.Second}
		h := hedge.MustNew(hedge.Config{Name: "search-hedge", Delay: 10 * time.Millisecond, Budget: budget.MustNew(budget.Config{Ratio: 10})})
		rt, err := httpguard.Transport(dep, h)
		require.NoError(t, err)
		ctx, l := ledger.Start(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://search/", nil)
		resp, err := rt.RoundTrip(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		synctest.Wait()
		l.Finish()
		byName := map[string][]ledger.Entry{}
		for _, e := range l.Entries() {
			byName[e.Name] = append(byName[e.Name], e)
		}
		assert.Equal(t, []ledger.Entry{
			{Name: "search-hedge", Kind: ledger.Attempt, Start: 0, Duration: 10 * time.Millisecond, Outcome: "lost"},
			{Name: "search-hedge", Kind: ledger.Attempt, Start: 10 * time.Millisecond, Duration: 0},
		}, byName["search-hedge"], "the first attempt lost; the hedge won at once")
		assert.Equal(t, []ledger.Entry{
			{Name: "search", Kind: ledger.Attempt, Start: 0, Duration: 10 * time.Millisecond, Outcome: "canceled"},
			{Name: "search", Kind: ledger.Attempt, Start: 10 * time.Millisecond, Duration: 0},
		}, byName["search"], "the host's: the loser's request was cancelled")
		_, late := l.Dropped()
		assert.Zero(t, late)

		// A second request's ledger holds nothing of the first's.
		ctx2, l2 := ledger.Start(context.Background())
		req, _ = http.NewRequestWithContext(ctx2, http.MethodGet, "http://search/", nil)
		resp, err = rt.RoundTrip(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		for _, e := range l2.Entries() {
			assert.Equal(t, time.Duration(0), e.Start, "only the second request's own attempt: %+v", e)
		}
	})
}

// Without a Ledger nothing is recorded; WithLedger's config is checked.
func TestWithLedgerConfig(t *testing.T) {
	_, err := httpguard.Handler(ok, watertight.Chain(), httpguard.WithLedger(httpguard.LedgerConfig{SlowAfter: 10}))
	assert.EqualError(t, err, "httpguard: LedgerConfig.SlowAfter must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)")
	_, err = httpguard.Handler(ok, watertight.Chain(), httpguard.WithLedger(httpguard.LedgerConfig{SlowAfter: -time.Second}))
	assert.EqualError(t, err, "httpguard: LedgerConfig.SlowAfter must be >= 0, got -1s")

	// Server-Timing is off unless asked, and SlowAfter 0 logs nothing.
	var logged bytes.Buffer
	rec := serve(mustHandler(t, ok, watertight.Chain(), httpguard.WithLedger(httpguard.LedgerConfig{Logger: textLogger(&logged)})))
	assert.Empty(t, rec.Header().Get("Server-Timing"))
	assert.Empty(t, logged.String())
}

// A refusal the Handler answers itself carries its Server-Timing too.
func TestServerTimingOnARefusal(t *testing.T) {
	full := bulkhead.MustNew(bulkhead.Config{Name: "api", MaxConcurrent: 1})
	release, err := full.Acquire(context.Background())
	require.NoError(t, err)
	defer release()
	finished := &sink{}
	rec := serve(mustHandler(t, ok, full, httpguard.WithLedger(httpguard.LedgerConfig{ServerTiming: true, Sink: finished})))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.True(t, strings.HasPrefix(rec.Header().Get("Server-Timing"), `api.refused;dur=0.000;desc="api: 1 refused, 1 not ok", total;dur=`), rec.Header().Get("Server-Timing"))
	require.Len(t, finished.reqs, 1)
	assert.Equal(t, http.StatusServiceUnavailable, finished.reqs[0].Status)
}

// WithName names the dependency in the Transport's ledger entries instead
// of the request's host.
func TestTransportWithName(t *testing.T) {
	dep := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
	})
	rt, err := httpguard.Transport(dep, watertight.Chain(), httpguard.WithName("prices"))
	require.NoError(t, err)
	ctx, l := ledger.Start(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://10.0.0.7:8443/price", nil)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	e := l.Entries()
	require.Len(t, e, 1)
	assert.Equal(t, "prices", e[0].Name)
	assert.Equal(t, "503", e[0].Outcome)
}
