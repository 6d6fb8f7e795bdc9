package httpguard

import (
	"bufio"
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/timeout"
)

// HandlerOption configures Handler.
type HandlerOption func(*handler)

// WithRejectResponse replaces the response to a request the policy
// refused (an error matching watertight.ErrRejected). The default is 503
// Service Unavailable, a Retry-After header and a short plain-text body.
func WithRejectResponse(respond func(w http.ResponseWriter, r *http.Request, err error)) HandlerOption {
	return func(h *handler) { h.reject = respond }
}

// Handler returns an http.Handler that serves each request with next,
// under p, with the request's context (and the deadline p sets on it).
//
// If nothing has been written yet when p returns an error, Handler answers
// for next: an error matching watertight.ErrRejected becomes 503 Service
// Unavailable with a Retry-After header (watertight.RetryAfter rounded up
// to whole seconds, at least 1), and timeout.ErrExceeded becomes 504
// Gateway Timeout. Any other error, and any error once next has written,
// leaves the response as it is. Once p has returned, writes from a next
// that p abandoned fail with http.ErrHandlerTimeout instead of racing the
// response.
//
// A nil next or p is an error.
func Handler(next http.Handler, p watertight.Policy, opts ...HandlerOption) (http.Handler, error) {
	switch {
	case next == nil:
		return nil, errors.New("httpguard: Handler: next is nil")
	case p == nil:
		return nil, errors.New("httpguard: Handler: policy is nil")
	}
	h := &handler{next: next, policy: p, reject: rejectResponse}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

type handler struct {
	next   http.Handler
	policy watertight.Policy
	reject func(http.ResponseWriter, *http.Request, error)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	gw := writers.Get().(*guardedWriter)
	gw.w, gw.next, gw.req = w, h.next, r
	err := h.policy.Do(r.Context(), gw.serve)
	unwritten, reusable := gw.finish()
	if reusable {
		*gw = guardedWriter{serve: gw.serve}
		writers.Put(gw)
	}
	if !unwritten || err == nil {
		return // next wrote its own response, or p let it finish
	}
	switch {
	case errors.Is(err, watertight.ErrRejected):
		h.reject(w, r, err)
	case errors.Is(err, timeout.ErrExceeded):
		http.Error(w, http.StatusText(http.StatusGatewayTimeout), http.StatusGatewayTimeout)
	}
}

// rejectResponse is the default answer to a refused request: 503, when to
// retry, and no internals in the body.
func rejectResponse(w http.ResponseWriter, _ *http.Request, err error) {
	w.Header().Set("Retry-After", RetryAfterSeconds(err))
	http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
}

// RetryAfterSeconds returns the Retry-After header value for err:
// watertight.RetryAfter rounded up to whole seconds, and at least 1 (also
// when err carries no hint).
func RetryAfterSeconds(err error) string {
	d, _ := watertight.RetryAfter(err)
	secs := int64(math.Ceil(d.Seconds()))
	return strconv.FormatInt(max(secs, 1), 10)
}

// guardedWriter passes writes to w until finish is called, and records
// whether anything was written; after finish, writes fail. The mutex is
// what lets an abandoned handler write on without racing the response.
// Writers are reused once their handler has returned, so a guarded request
// allocates nothing of its own.
type guardedWriter struct {
	w     http.ResponseWriter
	next  http.Handler
	req   *http.Request
	serve func(context.Context) error // gw.run, bound once

	mu       sync.Mutex
	wrote    bool
	finished bool
	returned bool // next has returned: nothing will touch gw again
}

var writers = sync.Pool{New: func() any {
	gw := &guardedWriter{}
	gw.serve = gw.run
	return gw
}}

// run is the policy's fn: it serves the request with the policy's ctx.
func (gw *guardedWriter) run(ctx context.Context) error {
	r := gw.req
	if ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	gw.next.ServeHTTP(gw, r)
	gw.mu.Lock()
	gw.returned = true
	gw.mu.Unlock()
	return ctx.Err() // tells the policy whether its deadline ended the request
}

// finish stops writes through gw and reports whether nothing was written,
// and whether the handler has returned (gw may then be reused).
func (gw *guardedWriter) finish() (unwritten, reusable bool) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	gw.finished = true
	return !gw.wrote, gw.returned
}

func (gw *guardedWriter) Header() http.Header { return gw.w.Header() }

func (gw *guardedWriter) WriteHeader(code int) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.finished {
		return
	}
	if code >= 200 || code == http.StatusSwitchingProtocols { // 1xx are informational: not the response
		gw.wrote = true
	}
	gw.w.WriteHeader(code)
}

func (gw *guardedWriter) Write(b []byte) (int, error) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.finished {
		return 0, http.ErrHandlerTimeout
	}
	gw.wrote = true
	return gw.w.Write(b)
}

// Flush sends what was written so far, for streaming handlers.
func (gw *guardedWriter) Flush() { _ = gw.FlushError() }

// FlushError is what http.ResponseController calls to flush.
func (gw *guardedWriter) FlushError() error {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.finished {
		return http.ErrHandlerTimeout
	}
	gw.wrote = true
	return http.NewResponseController(gw.w).Flush()
}

// Hijack hands the connection over, as the underlying writer allows.
func (gw *guardedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.finished {
		return nil, nil, http.ErrHandlerTimeout
	}
	gw.wrote = true
	return http.NewResponseController(gw.w).Hijack()
}

// SetReadDeadline and SetWriteDeadline pass through to the connection
// (for http.ResponseController).
func (gw *guardedWriter) SetReadDeadline(t time.Time) error {
	return http.NewResponseController(gw.w).SetReadDeadline(t)
}

func (gw *guardedWriter) SetWriteDeadline(t time.Time) error {
	return http.NewResponseController(gw.w).SetWriteDeadline(t)
}

// EnableFullDuplex passes through to the connection.
func (gw *guardedWriter) EnableFullDuplex() error {
	return http.NewResponseController(gw.w).EnableFullDuplex()
}
