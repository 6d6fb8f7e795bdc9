package httpguard

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/internal/withindo"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/retry"
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

// WithExempt serves the requests exempt reports true for with next
// directly, outside the policy: no slot, no deadline, no breaker. A
// policy's timeout ends a long-lived response at its deadline — a
// server-sent event stream, a websocket — which is what such a request is
// for; exempt them (WithExempt(IsStream) does both) and bound them on
// their own, with a bulkhead and no timeout around their handler.
func WithExempt(exempt func(*http.Request) bool) HandlerOption {
	return func(h *handler) { h.exempt = exempt }
}

// IsStream reports whether r asks for a long-lived response: server-sent
// events (Accept: text/event-stream) or a websocket (Upgrade: websocket),
// for WithExempt.
func IsStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/event-stream") {
			return true
		}
	}
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
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
// 504 written in its place, and that 504 carries none of them. After an
// informational response (WriteHeader with a 1xx, such as 103 Early
// Hints), changes to the map still take effect on the final response, as
// net/http documents.
//
// A request is served once: a retry or a hedge in p that calls its fn
// again gets a retry.Permanent error, and next is not run twice.
//
// A handler that panics with http.ErrAbortHandler (httputil.ReverseProxy
// does, when the client of a stream leaves) aborts the response, as
// net/http intends, and counts neither way for p: the ctx p runs with is
// cancelled first, as when the client leaves, so a breaker in p ignores
// the call. Any other panic goes on up through p, which releases what it
// holds.
//
// The writer next gets has every optional interface a
// http.ResponseWriter may have — http.Flusher, http.Hijacker,
// http.CloseNotifier, http.Pusher, io.ReaderFrom, io.StringWriter, and the
// methods http.ResponseController uses — passed to the connection's
// writer when it has them (Push returns http.ErrNotSupported when it has
// not), and Unwrap, which returns it.
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
	h := &handler{next: next, policy: p, reject: rejectResponse, reuse: withindo.Only(p)}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("httpguard: Handler: an option is nil")
		}
		o(h)
	}
	switch {
	case h.err != nil:
		return nil, h.err
	case h.reject == nil:
		return nil, errors.New("httpguard: WithRejectResponse: respond is nil")
	}
	return h, nil
}

type handler struct {
	next   http.Handler
	policy watertight.Policy
	reject func(http.ResponseWriter, *http.Request, error)
	exempt func(*http.Request) bool
	reuse  bool          // policy calls fn only within its Do: writers may be reused
	ledger *LedgerConfig // nil: no ledger
	err    error         // a bad option's
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.exempt != nil && h.exempt(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	var l *ledger.Ledger
	if h.ledger != nil {
		ctx, l = ledger.Start(ctx, h.ledger.Options...)
	}
	gw := newWriter(h.reuse)
	gw.w, gw.next, gw.req, gw.cancel = w, h.next, r, cancel
	if l != nil && h.ledger.ServerTiming {
		gw.timing = l
	}
	err := h.policy.Do(ctx, gw.serve)
	unwritten, returned, aborted, served := gw.finish()
	if errors.Is(err, errServedOnce) {
		err = served // the policy ended on its call to serve again: the request ended with the serving, and why
	}
	if unwritten && gw.timing != nil {
		setServerTiming(w.Header(), gw.timing) // on our 503 or 504, or the empty response
	}
	var answered bool
	if l == nil {
		answered = !aborted && unwritten && err != nil && answer(w, r, err, h.reject)
	} else {
		sw := &statusWriter{ResponseWriter: w}
		answered = !aborted && unwritten && err != nil && answer(sw, r, err, h.reject)
		status := gw.writtenStatus()
		if answered {
			status = sw.status
		}
		h.finishLedger(ctx, r, l, status)
	}
	if unwritten && returned && !answered {
		// next returned without writing: its headers go out with the
		// empty response net/http sends for it.
		gw.sendHeaders()
	}
	if returned && h.reuse {
		gw.reset()
		writers.Put(gw)
	}
	if aborted {
		panic(http.ErrAbortHandler) // abort the response, as next meant to
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
// Writers are reused once their handler has returned, for a policy that
// calls fn only within its Do (see exchange in transport.go for why only
// then), so a guarded request allocates little of its own once warm.
type guardedWriter struct {
	w      http.ResponseWriter
	next   http.Handler
	req    *http.Request
	cancel context.CancelCauseFunc     // of the ctx the policy runs with
	serve  func(context.Context) error // gw.run, bound once
	header http.Header                 // the handler's own, until it writes

	timing *ledger.Ledger // the request's, when it sends Server-Timing

	mu       sync.Mutex
	status   int         // the final response's status, once written
	served   bool        // run was called: a second call does not serve again
	wrote    bool        // the final response's header went out
	base     http.Header // w's own headers before the first 1xx; nil if none was sent
	finished bool
	returned bool  // next has returned: nothing will touch gw again
	aborted  bool  // next panicked with http.ErrAbortHandler
	ret      error // why serving the request ended: its ctx's cause, or nil
}

var writers sync.Pool // *guardedWriter, for policies that call fn only within their Do

// newWriter returns a pooled writer when reuse is set, a new one
// otherwise.
func newWriter(reuse bool) *guardedWriter {
	if reuse {
		if gw, ok := writers.Get().(*guardedWriter); ok {
			return gw
		}
	}
	gw := &guardedWriter{}
	gw.serve = gw.run
	return gw
}

// reset readies gw for another request, keeping its bound func and its
// header map.
func (gw *guardedWriter) reset() {
	header := gw.header
	clear(header)
	*gw = guardedWriter{serve: gw.serve, header: header}
}

// errServedOnce is what a second call of the Handler's fn returns, as a
// retry.Permanent error.
var errServedOnce = errors.New("httpguard: Handler: the policy called fn again; a request is served once")

// run is the policy's fn: it serves the request with the policy's ctx,
// once.
func (gw *guardedWriter) run(ctx context.Context) (err error) {
	gw.mu.Lock()
	if gw.served || gw.finished {
		gw.mu.Unlock()
		return retry.Permanent(errServedOnce)
	}
	gw.served = true
	gw.mu.Unlock()
	r := gw.req
	if ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		v := recover()
		switch {
		case v == nil:
			return // runtime.Goexit: it goes on
		case v != http.ErrAbortHandler:
			// Not ours to stop: on up through the policy, which releases
			// what it holds. The handler's frames are still on the stack
			// here, so the trace still shows where it panicked.
			panic(v)
		}
		// The handler aborted the response (a client that left a
		// stream): the call says nothing of this server, and counts
		// neither way. Cancelling the policy's ctx first makes it look,
		// to every policy, like the caller leaving.
		gw.cancel(http.ErrAbortHandler)
		err = ctx.Err()
		gw.mu.Lock()
		gw.aborted, gw.returned, gw.ret = true, true, err
		gw.mu.Unlock()
	}()
	gw.next.ServeHTTP(gw, r)
	returned = true
	err = ctx.Err() // tells the policy whether its deadline ended the request
	gw.mu.Lock()
	gw.returned, gw.ret = true, context.Cause(ctx) // a timeout's cause matches its ErrExceeded
	gw.mu.Unlock()
	return err
}

// finish stops writes through gw and reports whether nothing was written,
// whether the handler has returned (gw may then be reused, and its header
// map read), whether it aborted the response, and why serving the request
// ended (its ctx's cause: a timeout's matches its ErrExceeded).
func (gw *guardedWriter) finish() (unwritten, returned, aborted bool, served error) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	gw.finished = true
	return !gw.wrote, gw.returned, gw.aborted, gw.ret
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

// sendHeaders puts the handler's headers on the connection's map, for a
// response about to be written. After a 1xx, whose headers are already
// on that map, the map is rebuilt from the connection's own headers and
// the handler's as they are now, so that what the handler changed since
// (a header deleted, one replaced) takes effect.
func (gw *guardedWriter) sendHeaders() {
	dst := gw.w.Header()
	if gw.base != nil {
		clear(dst)
		copyHeader(dst, gw.base)
	}
	copyHeader(dst, gw.header)
}

// startWrite marks the response as written, copying the handler's headers
// to the connection the first time. gw.mu must be held and gw not
// finished.
func (gw *guardedWriter) startWrite() {
	if !gw.wrote {
		gw.wrote = true
		if gw.timing != nil {
			setServerTiming(gw.w.Header(), gw.timing) // what is known now; the rest goes to the log and the dashboard
		}
		gw.sendHeaders()
	}
}

// writtenStatus returns the status of the response the handler wrote, 200
// if it wrote a body without one or returned without writing to a client
// still there, and 0 if it wrote nothing and has not returned (a policy
// gave up on it) or its client left.
func (gw *guardedWriter) writtenStatus() int {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	switch {
	case gw.status != 0:
		return gw.status
	case gw.wrote || (gw.returned && gw.req.Context().Err() == nil):
		return http.StatusOK
	}
	return 0
}

func (gw *guardedWriter) WriteHeader(code int) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.finished {
		return
	}
	if code >= 200 || code == http.StatusSwitchingProtocols || gw.wrote { // 1xx are informational: not the response
		if !gw.wrote {
			gw.status = code
		}
		gw.startWrite()
	} else {
		if gw.base == nil {
			gw.base = gw.w.Header().Clone() // the connection's own headers, before ours
		}
		gw.sendHeaders() // a 1xx carries the headers set so far, and the handler keeps its map
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

// WriteString writes s, through the connection's writer's WriteString
// when it has one (io.StringWriter).
func (gw *guardedWriter) WriteString(s string) (int, error) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.finished {
		return 0, http.ErrHandlerTimeout
	}
	gw.startWrite()
	return io.WriteString(gw.w, s)
}

// ReadFrom copies r to the response, through the connection's writer's
// ReadFrom when it has one (io.ReaderFrom: net/http's sends a file with
// sendfile).
func (gw *guardedWriter) ReadFrom(r io.Reader) (int64, error) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.finished {
		return 0, http.ErrHandlerTimeout
	}
	gw.startWrite()
	if rf, ok := gw.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{gw.w}, r)
}

// writerOnly hides every method but Write, so that io.Copy does not call
// ReadFrom again.
type writerOnly struct{ io.Writer }

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

// CloseNotify is http.CloseNotifier's, for the handlers that still use
// it (gin's Context.Stream): the connection's writer's when it has one,
// else a channel that receives when the request's ctx ends.
//
// Deprecated: use the request's Context, as net/http says.
func (gw *guardedWriter) CloseNotify() <-chan bool {
	if cn, ok := gw.w.(http.CloseNotifier); ok {
		return cn.CloseNotify()
	}
	ch := make(chan bool, 1)
	context.AfterFunc(gw.req.Context(), func() { ch <- true })
	return ch
}

// Push is http.Pusher's: the connection's writer's on HTTP/2, else
// http.ErrNotSupported, as net/http answers when push is off.
func (gw *guardedWriter) Push(target string, opts *http.PushOptions) error {
	if p, ok := gw.w.(http.Pusher); ok {
		return p.Push(target, opts)
	}
	return http.ErrNotSupported
}

// Unwrap returns the connection's writer, for http.ResponseController and
// middleware that look beneath the writers they are given.
func (gw *guardedWriter) Unwrap() http.ResponseWriter { return gw.w }

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
