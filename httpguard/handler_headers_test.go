package httpguard_test

import (
	"context"
	"errors"
	"io"
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
	"github.com/watertight-go/watertight/timeout"
)

// An abandoned handler keeps setting headers while the 504 goes out in its
// place: the 504 carries none of them (a cacheable 504 would be served to
// everyone), and under -race nothing is shared (it used to be the real
// writer's map).
func TestHandlerAbandonedHandlerHasItsOwnHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Duration: 100 * time.Millisecond, Abandon: true})
		gate, done := make(chan struct{}), make(chan struct{})
		slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(done)
			w.Header().Set("Cache-Control", "max-age=3600")
			<-gate
			for i := range 100 {
				w.Header().Set("X-Late", string(rune('a'+i%26)))
			}
		})
		rec := httptest.NewRecorder()
		mustHandler(t, slow, to).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		close(gate)
		assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
		assert.Empty(t, rec.Header().Get("Cache-Control"))
		for range 100 {
			_ = rec.Header().Get("X-Late") // read while the handler writes its own map
		}
		<-done
		assert.Empty(t, rec.Header().Get("X-Late"))
	})
}

func TestHandlerHeadersReachTheResponse(t *testing.T) {
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Before", "1")
		w.Header().Set("Trailer", "X-Trailer")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Trailer", "t") // a declared trailer, set after the body
	}), watertight.Chain())
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "body", string(body))
	assert.Equal(t, "1", resp.Header.Get("X-Before"))
	assert.Equal(t, "t", resp.Trailer.Get("X-Trailer"))

	// A handler that sets headers and writes nothing still sends them.
	rec := serve(mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Only", "header")
	}), watertight.Chain()))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "header", rec.Header().Get("X-Only"))
}

func TestHandlerNilPointersAndOptions(t *testing.T) {
	var tm *timeout.Timeout // a failed New's result
	_, err := httpguard.Handler(ok, tm)
	assert.EqualError(t, err, "httpguard: Handler: policy is a nil *timeout.Timeout")
	var hf http.HandlerFunc
	_, err = httpguard.Handler(hf, watertight.Chain())
	assert.EqualError(t, err, "httpguard: Handler: next is a nil http.HandlerFunc")
	_, err = httpguard.Handler(ok, watertight.Chain(), httpguard.WithRejectResponse(nil))
	assert.EqualError(t, err, "httpguard: WithRejectResponse: respond is nil")
	_, err = httpguard.Handler(ok, watertight.Chain(), nil)
	assert.EqualError(t, err, "httpguard: Handler: an option is nil")
}

func TestWriteError(t *testing.T) {
	full := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	release, err := full.Acquire(t.Context())
	require.NoError(t, err)
	defer release()
	refused := full.Do(t.Context(), func(context.Context) error { return nil })

	rec := httptest.NewRecorder()
	assert.True(t, httpguard.WriteError(rec, refused))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))

	var deadline error
	synctest.Test(t, func(t *testing.T) {
		deadline = timeout.MustNew(timeout.Config{Duration: time.Second}).Do(t.Context(), func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
	})
	rec = httptest.NewRecorder()
	assert.True(t, httpguard.WriteError(rec, deadline))
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)

	for _, err := range []error{nil, errors.New("other"), context.Canceled} {
		rec = httptest.NewRecorder()
		assert.False(t, httpguard.WriteError(rec, err))
		assert.False(t, rec.Flushed)
		assert.Empty(t, rec.Body.String())
	}
}
