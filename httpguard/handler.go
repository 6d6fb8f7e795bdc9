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
	"github.com/watertight-go/watertight/internal/typednil"
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
// next writes its headers into a map of its own, which goes to the
// connection when next first writes (or returns without writing): a
// handler that p abandoned can go on setting headers without racing the
// 504 written in its place, and that 504 carries none of them.
//
// A nil next or p (or a nil pointer in either), or a nil option func, is
// an error.
func Handler(next http.Handler, p watertight.Policy, opts ...HandlerOption) (http.Handler, error) {
	switch {
	case typednil.Is(next):
		return nil, errors.New("httpguard: Handler: next is " + typednil.Describe(next))
	case typednil.Is(p):
		return nil, errors.New("httpguard: Handler: policy is " + typednil.Describe(p))
	}
	h := &handler{next: next, policy: p, reject: rejectResponse}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("httpguard: Handler: an option is nil")
		}
		o(h)
	}
	if h.reject == nil {
		return nil, errors.New("httpguard: WithRejectResponse: respond is nil")
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
	unwritten, returned := gw.finish()
	answered := unwritten && err != nil && answer(w, r, err, h.reject)
	if unwritten && returned && !answered {
		// next returned without writing: its headers go out with the
		// empty response net/http sends for it.
		copyHeader(w.Header(), gw.header)
	}
	if returned {
		header := gw.header
		clear(header)
		*gw = guardedWriter{serve: gw.serve, header: header}
		writers.Put(gw)
	}
}

// answer writes the response for a policy error, if it is one we answer
// (a refusal, our deadline), and reports whether it did.
func answer(w http.ResponseWriter, r *http.Request, err error, reject func(http.ResponseWriter, *http.Request, error)) bool {
	switch {
	case errors.Is(err, watertight.ErrRejected):
		reject(w, r, err)
	case errors.Is(err, timeout.ErrExceeded):
		http.Error(w, http.StatusText(http.StatusGatewayTimeout), http.StatusGatewayTimeout)
	default:
		return false
	}
	return true
}

// copyHeader adds src's values to dst. A key dst lacks takes src's slice
// itself, as http.TimeoutHandler does: the usual case (the connection's
// map is empty) copies no value.
func copyHeader(dst, src http.Header) {
	for k, vv := range src {
		if have, ok := dst[k]; ok {
			dst[k] = append(have, vv...)
		} else {
			dst[k] = vv
		}
	}
}

// rejectResponse is the default answer to a refused request: 503, when to
// retry, and no internals in the body.
func rejectResponse(w http.ResponseWriter, _ *http.Request, err error) {
	w.Header().Set("Retry-After", RetryAfterSeconds(err))
	http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
}

// WriteError answers a request with what Handler answers for its own
// policy's errors, for the errors of the policies a handler calls itself
// (an outbound call refused by its bulkhead or breaker): an error matching
// watertight.ErrRejected becomes 503 Service Unavailable with Retry-After,
// and timeout.ErrExceeded becomes 504 Gateway Timeout. It reports whether
// it wrote; for any other error (nil included) it writes nothing and
// returns false, and the handler answers as it sees fit.
//
//	receipt, err := watertight.Call(r.Context(), payments, charge)
//	if httpguard.WriteError(w, err) {
//		return
//	}
//	if err != nil {
//		http.Error(w, "charge failed", http.StatusBadGateway)
//		return
//	}
func WriteError(w http.ResponseWriter, err error) bool {
	return err != nil && answer(w, nil, err, rejectResponse)
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
// The handler's headers live in header, a map of its own, until its first
// write copies them to w; from then on, until finish, Header is w's map,
// so that trailers set after the body still reach the connection.
// Writers (and their header maps) are reused once their handler has
// returned, so a guarded request allocates nothing of its own once warm.
type guardedWriter struct {
	w      http.ResponseWriter
	next   http.Handler
	req    *http.Request
	serve  func(context.Context) error // gw.run, bound once
	header http.Header                 // the handler's own, until it writes

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
// and whether the handler has returned (gw may then be reused, and its
// header map read).
func (gw *guardedWriter) finish() (unwritten, returned bool) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	gw.finished = true
	return !gw.wrote, gw.returned
}

// Header returns the handler's own header map, or, once it has written
// and until finish, the connection's.
func (gw *guardedWriter) Header() http.Header {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.wrote && !gw.finished {
		return gw.w.Header()
	}
	if gw.header == nil {
		gw.header = make(http.Header)
	}
	return gw.header
}

// startWrite marks the response as written, copying the handler's headers
// to the connection the first time. gw.mu must be held and gw not
// finished.
func (gw *guardedWriter) startWrite() {
	if !gw.wrote {
		gw.wrote = true
		copyHeader(gw.w.Header(), gw.header)
	}
}

func (gw *guardedWriter) WriteHeader(code int) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.finished {
		return
	}
	if code >= 200 || code == http.StatusSwitchingProtocols { // 1xx are informational: not the response
		gw.startWrite()
	} else {
		copyHeader(gw.w.Header(), gw.header) // a 1xx carries the headers set so far
		clear(gw.header)
	}
	gw.w.WriteHeader(code)
}

func (gw *guardedWriter) Write(b []byte) (int, error) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.finished {
		return 0, http.ErrHandlerTimeout
	}
	gw.startWrite()
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
	gw.startWrite()
	return http.NewResponseController(gw.w).Flush()
}

// Hijack hands the connection over, as the underlying writer allows.
func (gw *guardedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.finished {
		return nil, nil, http.ErrHandlerTimeout
	}
	gw.startWrite()
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
