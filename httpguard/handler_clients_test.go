package httpguard_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// Clients that hang up must not open the server's breaker. A handler that
// aborts with http.ErrAbortHandler (what httputil.ReverseProxy does when
// the client of a stream leaves) counts neither way, and net/http still
// aborts the response.
func TestAbortedResponsesDoNotOpenTheBreaker(t *testing.T) {
	b := breaker.MustNew(breaker.Config{Name: "api", WindowCalls: 10, MinCalls: 5})
	var mode atomic.Value
	mode.Store("abort")
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mode.Load() == "abort" {
			_, _ = io.WriteString(w, "partial")
			panic(http.ErrAbortHandler)
		}
		_, _ = io.WriteString(w, "ok")
	}), b)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for range 25 {
		resp, err := srv.Client().Get(srv.URL)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
		}
		assert.Error(t, err, "the response was aborted")
	}
	assert.Equal(t, breaker.Closed, b.State())
	assert.Equal(t, uint64(25), b.Stats().Ignored)
	assert.Zero(t, b.Stats().Failures)
	mode.Store("ok")
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// The issue's own case: 25 clients leave a stream served through
// httputil.ReverseProxy, which aborts each response; the breaker in front
// stays closed and the next client is served.
func TestClientsLeavingAReverseProxiedStream(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "chunk %d\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
			if r.URL.Query().Get("n") != "" && i >= 2 {
				return
			}
		}
	}))
	t.Cleanup(backend.Close)
	target, _ := url.Parse(backend.URL)
	b := breaker.MustNew(breaker.Config{Name: "proxy", WindowCalls: 10, MinCalls: 5})
	guarded := mustHandler(t, httputil.NewSingleHostReverseProxy(target), b)
	served := make(chan struct{}, 64)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { served <- struct{}{} }() // also as the abort goes up to net/http
		guarded.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	var wg sync.WaitGroup
	for range 25 {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, front.URL, nil)
			resp, err := front.Client().Do(req)
			if err != nil {
				cancel()
				return
			}
			_, _ = bufio.NewReader(resp.Body).ReadString('\n') // the first chunk, then leave
			cancel()
			_ = resp.Body.Close()
		})
	}
	wg.Wait()
	front.Client().CloseIdleConnections()
	for range 25 {
		<-served // the proxy noticed its client gone as it wrote the next chunk
	}
	assert.Zero(t, b.Stats().Failures, "a client that left is no failure of ours")
	assert.Equal(t, breaker.Closed, b.State())
	resp, err := front.Client().Get(front.URL + "?n=3")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "chunk 0\nchunk 1\nchunk 2\n", string(body))
}

// A request whose own client left counts neither way either.
func TestARequestWhoseClientLeftCountsNeitherWay(t *testing.T) {
	b := breaker.MustNew(breaker.Config{WindowCalls: 1})
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		http.Error(w, "gone", http.StatusInternalServerError)
	}), b)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	assert.Equal(t, breaker.Closed, b.State())
	assert.Equal(t, uint64(1), b.Stats().Ignored)
}

// A retry in the server's policy never serves a request twice: its second
// call of fn is a Permanent error, and the handler ran once.
func TestARequestIsServedOnce(t *testing.T) {
	var runs atomic.Int32
	p := watertight.Chain(
		retry.MustNew(retry.Config{Budget: budget.MustNew(budget.Config{Ratio: 10}), Backoff: func() backoff.BackOff { return &backoff.ZeroBackOff{} }}),
		timeout.MustNew(timeout.Config{Duration: 10 * time.Millisecond}),
	)
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		<-r.Context().Done() // our deadline
	}), p)
	rec := serve(h)
	assert.Equal(t, int32(1), runs.Load())
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
}

// The writer a handler gets has every optional interface, passed to the
// connection's: gin's Context.Stream needs CloseNotify, io.Copy takes
// ReadFrom (sendfile), and middleware unwraps.
func TestTheWriterKeepsEveryOptionalInterface(t *testing.T) {
	var checked atomic.Bool
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer checked.Store(true)
		_, isFlusher := w.(http.Flusher)
		_, isHijacker := w.(http.Hijacker)
		//lint:ignore SA1019 gin's Context.Stream uses it
		_, isCloseNotifier := w.(http.CloseNotifier)
		_, isPusher := w.(http.Pusher)
		_, isReaderFrom := w.(io.ReaderFrom)
		_, isStringWriter := w.(io.StringWriter)
		u, isUnwrapper := w.(interface{ Unwrap() http.ResponseWriter })
		assert.True(t, isFlusher && isHijacker && isCloseNotifier && isPusher && isReaderFrom && isStringWriter && isUnwrapper)
		assert.NotNil(t, u.Unwrap())
		assert.ErrorIs(t, w.(http.Pusher).Push("/style.css", nil), http.ErrNotSupported, "HTTP/1.1 has no push")
		select {
		//lint:ignore SA1019 gin's Context.Stream uses it
		case <-w.(http.CloseNotifier).CloseNotify():
			t.Error("closed before the client left")
		default:
		}
		_, _ = io.WriteString(w, "a ")
		_, _ = w.(io.ReaderFrom).ReadFrom(strings.NewReader("b "))
		_, _ = w.(io.StringWriter).WriteString("c")
	}), watertight.Chain())
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, "a b c", string(body))
	assert.True(t, checked.Load())
}

// After a 103 Early Hints, what the handler changes in its header map
// takes effect on the final response, as net/http documents: a header
// deleted is gone, one set is there; the 103 carried the map as it was.
func TestHeadersAfterAnInformationalResponse(t *testing.T) {
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("X-Final", "yes")
		_, _ = io.WriteString(w, "page")
	}), watertight.Chain())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Outer", "middleware") // set on the connection's writer before ours
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	var hints []textproto.MIMEHeader
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
		hints = append(hints, header)
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, srv.URL, nil)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Len(t, hints, 1)
	assert.Equal(t, "</style.css>; rel=preload; as=style", hints[0].Get("Link"))
	assert.Empty(t, resp.Header.Get("Link"), "deleted after the 103")
	assert.Equal(t, "yes", resp.Header.Get("X-Final"))
	assert.Equal(t, []string{"middleware"}, resp.Header.Values("X-Outer"), "the connection's own headers, once")
}

// Server-sent events outlive any request timeout: under the policy the
// stream is cut at its deadline; exempt (WithExempt(IsStream)), a real
// SSE client gets every event.
func TestServerSentEventsAreExempt(t *testing.T) {
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 6 {
			if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	policy := func() watertight.Policy { return timeout.MustNew(timeout.Config{Duration: 30 * time.Millisecond}) }
	read := func(h http.Handler) []string {
		srv := httptest.NewServer(h)
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var got []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				got = append(got, data)
			}
		}
		return got
	}
	cut := read(mustHandler(t, events, policy()))
	assert.Less(t, len(cut), 6, "the policy's timeout ends the stream")
	whole := read(mustHandler(t, events, policy(), httpguard.WithExempt(httpguard.IsStream)))
	assert.Equal(t, []string{"0", "1", "2", "3", "4", "5"}, whole)
}

func TestIsStream(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	assert.False(t, httpguard.IsStream(r))
	r.Header.Set("Accept", "text/html, text/event-stream;q=0.9")
	assert.True(t, httpguard.IsStream(r))
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "WebSocket")
	assert.True(t, httpguard.IsStream(r))
}
