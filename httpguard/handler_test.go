package httpguard_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/timeout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })

func mustHandler(t *testing.T, next http.Handler, p watertight.Policy, opts ...httpguard.HandlerOption) http.Handler {
	t.Helper()
	h, err := httpguard.Handler(next, p, opts...)
	require.NoError(t, err)
	return h
}

func serve(h http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec
}

func TestHandlerBadInput(t *testing.T) {
	_, err := httpguard.Handler(nil, watertight.Chain())
	assert.EqualError(t, err, "httpguard: Handler: next is nil")
	_, err = httpguard.Handler(ok, nil)
	assert.EqualError(t, err, "httpguard: Handler: policy is nil")
}

func TestHandlerPassesThrough(t *testing.T) {
	rec := serve(mustHandler(t, ok, bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "ok", rec.Body.String())
}

func TestHandlerRejectionIs503WithRetryAfter(t *testing.T) {
	full := bulkhead.MustNew(bulkhead.Config{Name: "api", MaxConcurrent: 1})
	release, err := full.Acquire(t.Context())
	require.NoError(t, err)
	defer release()

	rec := serve(mustHandler(t, ok, full))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"), "no hint: at least 1 s")
	assert.Equal(t, "Service Unavailable\n", rec.Body.String(), "no internals in the body")
}

func TestHandlerOpenBreakerRetryAfterComesFromTheBreaker(t *testing.T) {
	b := breaker.MustNew(breaker.Config{WindowCalls: 1, OpenBackoff: backoff.NewConstantBackOff(90 * time.Second)})
	_ = b.Do(t.Context(), func(context.Context) error { return errors.New("down") })
	rec := serve(mustHandler(t, ok, b))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "90", rec.Header().Get("Retry-After"))
}

func TestHandlerCustomRejectResponse(t *testing.T) {
	b := breaker.MustNew(breaker.Config{WindowCalls: 1})
	_ = b.Do(t.Context(), func(context.Context) error { return errors.New("down") })
	h := mustHandler(t, ok, b, httpguard.WithRejectResponse(func(w http.ResponseWriter, r *http.Request, err error) {
		w.Header().Set("Retry-After", httpguard.RetryAfterSeconds(err))
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	rec := serve(h)
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
}

func TestHandlerOurDeadlineBeforeAnyWriteIs504(t *testing.T) {
	to := timeout.MustNew(timeout.Config{Duration: time.Millisecond})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	rec := serve(mustHandler(t, slow, to))
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
}

func TestHandlerNeverRewritesAWrittenResponse(t *testing.T) {
	to := timeout.MustNew(timeout.Config{Duration: time.Millisecond})
	partial := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "partial")
		<-r.Context().Done()
	})
	rec := serve(mustHandler(t, partial, to))
	assert.Equal(t, http.StatusAccepted, rec.Code)
	assert.Equal(t, "partial", rec.Body.String())
}

func TestHandlerAbandonedHandlerCannotWriteAfterwards(t *testing.T) {
	to := timeout.MustNew(timeout.Config{Duration: time.Millisecond, Abandon: true})
	late := make(chan error, 1)
	gate := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-gate
		_, err := io.WriteString(w, "too late")
		late <- err
	})
	rec := serve(mustHandler(t, slow, to))
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
	close(gate)
	assert.ErrorIs(t, <-late, http.ErrHandlerTimeout)
	assert.NotContains(t, rec.Body.String(), "too late")
}

func TestHandlerStreams(t *testing.T) {
	next := make(chan struct{})
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		require.NoError(t, http.NewResponseController(w).Flush())
		<-next // the client has read the first chunk
		_, _ = io.WriteString(w, "second\n")
	})
	srv := httptest.NewServer(mustHandler(t, stream, bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	buf := make([]byte, 6)
	_, err = io.ReadFull(resp.Body, buf)
	require.NoError(t, err)
	assert.Equal(t, "first\n", string(buf), "flushed before the handler ended")
	close(next)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "second\n", string(rest))
}

func TestRetryAfterSeconds(t *testing.T) {
	assert.Equal(t, "1", httpguard.RetryAfterSeconds(errors.New("x")))
	assert.Equal(t, "2", httpguard.RetryAfterSeconds(&breaker.OpenError{RetryAfter: 1500 * time.Millisecond}))
	assert.Equal(t, "1", httpguard.RetryAfterSeconds(&breaker.OpenError{RetryAfter: 0}))
}
