package httpguard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/errchain"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/internal/withindo"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/retry"
)

// TransportOption configures Transport and PerHost.
type TransportOption func(*guard)

// WithFailure replaces how an outbound request's outcome is classified for
// the policies (a breaker's failure count, a retry's decision): isFailure
// gets the response or the transport's error, one of them nil. The
// default counts as failures transport errors, 429 Too Many Requests and
// every 5xx but 501 Not Implemented (which a retry cannot fix).
func WithFailure(isFailure func(resp *http.Response, err error) bool) TransportOption {
	return func(g *guard) { g.isFailure = isFailure }
}

func defaultIsFailure(resp *http.Response, err error) bool {
	return err != nil || resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented)
}

// WithName names the dependency in the entries Transport records in a
// request's ledger (see package ledger): "prices" rather than
// "10.0.0.7:8443". The default is the request's host, which is what
// PerHost's entries are named by.
func WithName(name string) TransportOption {
	return func(g *guard) { g.name = name }
}

// WithResend replaces which requests may be sent more than once, by a
// policy that retries or hedges: resend reports whether req may be. The
// default allows the idempotent methods (GET, HEAD, OPTIONS, TRACE, PUT,
// DELETE) and any request with an Idempotency-Key header. A request that
// may not be gets its first attempt only; the policy's next call of fn
// fails with a retry.Permanent error, which stops a retry at once.
func WithResend(resend func(req *http.Request) bool) TransportOption {
	return func(g *guard) { g.resend = resend }
}

func defaultResend(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}

// resendable returns nil if req may be sent again, and the Permanent
// error its next attempt fails with if not.
func (g *guard) resendable(req *http.Request) error {
	if !g.resend(req) {
		return retry.Permanent(&sentOnce{fmt.Sprintf("httpguard: %s %s is sent once: it is not idempotent (an Idempotency-Key header, or WithResend, allows more)", req.Method, req.URL.Redacted())})
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return retry.Permanent(&sentOnce{fmt.Sprintf("httpguard: %s %s is sent once: its body cannot be rewound (no GetBody)", req.Method, req.URL.Redacted())})
	}
	return nil
}

// sentOnce is the refusal to send a request again. When the policy ends
// the call on it, the attempt that ended the call is the one before: the
// caller gets that attempt's response or error, not the refusal.
type sentOnce struct{ msg string }

func (e *sentOnce) Error() string { return e.msg }

// StatusError is the error a policy sees for a response classified as a
// failure, so that a breaker counts it and a retry decides on it. The
// caller of RoundTrip never sees it: it gets the response unchanged.
type StatusError struct {
	StatusCode int
	// RetryAfter is the response's Retry-After (delay-seconds or an
	// HTTP-date), on a 429 or 503; zero if it had none. When it is set,
	// watertight.RetryAfter finds it in the policy's error, so that a
	// retry waits that long.
	RetryAfter time.Duration
}

// Error names the status: "httpguard: response status 503".
func (e *StatusError) Error() string {
	return "httpguard: response status " + strconv.Itoa(e.StatusCode)
}

// hintedStatus is a StatusError with a Retry-After, as the policy sees it:
// watertight.RetryAfter finds the hint only where there is one.
type hintedStatus struct{ *StatusError }

func (h *hintedStatus) Unwrap() error                 { return h.StatusError }
func (h *hintedStatus) RetryAfterHint() time.Duration { return h.RetryAfter }

// retryAfter reads a 429's or 503's Retry-After header: delay-seconds, or
// an HTTP-date (the time from now until then, 0 if it has passed).
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0, false
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
		return time.Duration(min(secs, int64(math.MaxInt64/time.Second))) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(at)), true
	}
	return 0, false
}

// Transport returns an http.RoundTripper that sends each request with
// next, under p.
//
// The request goes out with p's context, so a deadline p sets reaches
// next; the response body stays readable after p returns, until that
// deadline or until the body is closed. A response classified as a failure
// (see WithFailure) is reported to p as a *StatusError and still returned
// to the caller unchanged. A request p refuses never reaches the network:
// RoundTrip returns p's error (matching watertight.ErrRejected). A
// response that arrives after p gave up on it (an abandoning timeout) is
// drained and closed, so its connection is reused.
//
// The policy may call fn more than once, at the same time, or give up on
// a call that runs on: each call is one attempt, and the caller gets the
// response of the attempt that ended the call; every other response, also
// one that arrives after RoundTrip returned, is drained and closed, and
// never reaches another request. A request p refuses has its body closed,
// as the RoundTripper contract asks.
//
// A nil next or p (or a nil pointer in either), or a nil option, is an
// error.
func Transport(next http.RoundTripper, p watertight.Policy, opts ...TransportOption) (http.RoundTripper, error) {
	if typednil.Is(p) {
		return nil, errors.New("httpguard: Transport: policy is " + typednil.Describe(p))
	}
	g, err := newGuard("Transport", next, opts)
	if err != nil {
		return nil, err
	}
	return &transport{guard: g, policy: p, reuse: withindo.Only(p)}, nil
}

type transport struct {
	*guard
	policy watertight.Policy
	reuse  bool // p calls fn only within its Do: exchanges may be reused
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTrip(req, t.policy, t.reuse)
}

// guard runs requests under policies; Transport and PerHost share it.
type guard struct {
	next      http.RoundTripper
	isFailure func(*http.Response, error) bool
	resend    func(*http.Request) bool
	name      string // in ledger entries; "": the request's host
}

// CloseIdleConnections closes the idle connections of the wrapped
// RoundTripper, if it can (an *http.Transport can), so that
// http.Client.CloseIdleConnections reaches it through Transport and
// PerHost.
func (g *guard) CloseIdleConnections() {
	if g == nil {
		return // a zero Hosts
	}
	if c, ok := g.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// newGuard checks next and the options for who (Transport, PerHost).
func newGuard(who string, next http.RoundTripper, opts []TransportOption) (*guard, error) {
	if typednil.Is(next) {
		return nil, errors.New("httpguard: " + who + ": next is " + typednil.Describe(next))
	}
	g := &guard{next: next, isFailure: defaultIsFailure, resend: defaultResend}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("httpguard: " + who + ": an option is nil")
		}
		o(g)
	}
	if g.isFailure == nil {
		return nil, errors.New("httpguard: WithFailure: isFailure is nil")
	}
	if g.resend == nil {
		return nil, errors.New("httpguard: WithResend: resend is nil")
	}
	return g, nil
}

// exchange is one request's hand-over between the policy's fn and
// RoundTrip. The policy may call fn more than once (a retry), at the same
// time (a hedge), give up on a call that goes on running (an abandoning
// timeout), and call fn after its Do returned (a hedge launched as the
// call was decided, or a user's policy that keeps fn): every call of fn is
// an attempt with its own record, and RoundTrip, once the policy has
// returned, keeps the one attempt that ended the call and discards every
// other response, including those of attempts that come back later; an
// attempt that begins after that sends nothing.
//
// fn is bound to the exchange, and nothing tells a late call of fn which
// request it was made for: an exchange reused for the next request would
// send that request instead (or find it reset). So an exchange is reused
// only for a policy known to call fn only within its Do (ours, but a
// hedge and an abandoning timeout: internal/withindo), and made anew for
// every request otherwise. The first attempt's record is part of the
// exchange.
type exchange struct {
	g   *guard
	req *http.Request
	fn  func(context.Context) error // x.send, bound once

	mu       sync.Mutex
	first    attempt
	more     []*attempt  // attempts after the first
	started  int         // calls of fn
	sent     atomic.Bool // started > 0, for a look without the lock
	running  int         // attempts that have not delivered
	finished int         // attempts that have delivered, for their order
	claimed  bool        // RoundTrip has taken the outcome; later ones are discarded
}

// attempt is one call of the policy's fn.
type attempt struct {
	resp      *http.Response
	err       error // the transport's error
	cancel    context.CancelFunc
	status    *StatusError // the response's, if it was classified as a failure
	ret       error        // what fn returned
	ok        bool         // fn returned nil
	live      bool         // fn's ctx was not done when it returned
	delivered int          // 1 + its place among the attempts that delivered; 0: running
}

var exchanges = sync.Pool{New: func() any {
	x := &exchange{}
	x.fn = x.send
	return x
}}

// roundTrip sends req under p. reuse says p calls fn only within its Do,
// so that the exchange may go to the next request once p has returned.
func (g *guard) roundTrip(req *http.Request, p watertight.Policy, reuse bool) (*http.Response, error) {
	var x *exchange
	if reuse {
		x = exchanges.Get().(*exchange)
		x.g, x.req = g, req
	} else {
		x = &exchange{g: g, req: req}
		x.fn = x.send
	}
	err := p.Do(req.Context(), x.fn)
	won, losers, sent, err := x.claim(err)
	if reuse { // won and losers are copies, and p is done with fn
		*x = exchange{fn: x.fn}
		exchanges.Put(x)
	}
	for i := range losers {
		losers[i].discard()
	}
	if !sent && req.Body != nil {
		_ = req.Body.Close() // refused: the RoundTripper contract still wants the body closed
	}
	win := &won
	if won.delivered == 0 {
		if err == nil {
			err = errNotSent // a RoundTripper must return a response or an error
		}
		return nil, err
	}
	resp, cancel := win.resp, win.cancel
	if err == nil && win.err != nil {
		err = win.err // a transport error the classification let pass
	}
	if err == nil && resp == nil {
		err = errNotSent
	}
	if err == nil || (resp != nil && win.status != nil) {
		if cancel != nil {
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		}
		return resp, nil
	}
	win.discard()
	return nil, err
}

// errNotSent is returned when the policy returned nil without calling fn.
var errNotSent = errors.New("httpguard: the policy returned without sending the request")

// errAfterReturn is what fn returns when a policy calls it after its Do
// returned: RoundTrip has already answered.
var errAfterReturn = errors.New("httpguard: the policy called fn after it returned")

// send is the policy's fn: it sends the request with the policy's ctx.
func (x *exchange) send(ctx context.Context) error {
	g, req := x.g, x.req
	if x.sentBefore() {
		if err := g.resendable(req); err != nil {
			return err // before begin: the attempt that ended the call stays the last one
		}
	}
	a, again, err := x.begin()
	if err != nil {
		return err
	}
	out := req
	var cancel context.CancelFunc
	if ctx != req.Context() {
		// Keep the policy's deadline but not its cancellation when it
		// returns: the caller reads the body after that.
		var detached context.Context
		detached, cancel = detach(req.Context(), ctx)
		out = req.WithContext(detached)
	}
	if again && req.Body != nil && req.Body != http.NoBody {
		// Every attempt after the first sends a body of its own: the first
		// one's was read (and closed) by next.
		body, err := req.GetBody()
		if err != nil {
			if cancel != nil {
				cancel()
			}
			x.deliver(a, attempt{})
			return retry.Permanent(fmt.Errorf("httpguard: %s %s: GetBody: %w", req.Method, req.URL.Redacted(), err))
		}
		if out == req {
			out = req.WithContext(req.Context())
		}
		out.Body = body
	}
	var checkout *checkoutTrace
	if ledger.From(ctx) != nil {
		checkout = new(checkoutTrace)
		out = out.WithContext(httptrace.WithClientTrace(out.Context(), checkout.trace()))
	}
	var stop func() bool
	if cancel != nil {
		// While the request is sent, the policy's cancellation is its: a
		// hedge that won cancels this attempt, and its connection is
		// freed. Once RoundTrip returns, it no longer is: the body is read
		// after the policy returned.
		stop = context.AfterFunc(ctx, cancel)
	}
	var resp *http.Response
	delivered := false
	defer func() {
		if !delivered {
			// next or WithFailure's func panicked: nothing is left
			// running or open, and the panic goes on up the policy's
			// stack.
			if stop != nil {
				stop()
			}
			if resp != nil {
				discard(resp)
			}
			if cancel != nil {
				cancel()
			}
			x.deliver(a, attempt{})
		}
	}()
	var start int64
	if checkout != nil {
		start = monotime.Now()
	}
	resp, err = g.next.RoundTrip(out)
	var end int64
	if checkout != nil {
		end = monotime.Now()
	}
	if stop != nil {
		stop()
	}
	if err != nil && out != req && errors.Is(out.Context().Err(), context.DeadlineExceeded) {
		// Our copy of the policy's deadline fired; the policy's own timer
		// for the same instant may not have yet. Wait for it, so that the
		// policy sees its deadline as the reason (a timeout's ErrExceeded).
		<-ctx.Done()
	}
	if checkout != nil {
		name := g.name
		if name == "" {
			name = req.URL.Host
		}
		checkout.record(ctx, name, start, end, resp, err)
	}
	status, ret := g.classify(resp, err)
	delivered = true
	x.deliver(a, attempt{resp: resp, err: err, cancel: cancel, status: status, ret: ret, ok: ret == nil, live: ctx.Err() == nil})
	return ret
}

// checkoutTrace times one attempt's connection checkout, for the ledger:
// httptrace's GetConn to GotConn.
type checkoutTrace struct {
	getConn, gotConn int64 // monotime; 0: not seen
}

func (c *checkoutTrace) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(string) { c.getConn = monotime.Now() },
		GotConn: func(httptrace.GotConnInfo) { c.gotConn = monotime.Now() },
	}
}

// minCheckoutWait is the shortest checkout an attempt records as a wait:
// a connection taken from the idle pool is no wait worth a line.
const minCheckoutWait = 100 * time.Microsecond

// record writes the attempt, from start until its headers came at end,
// into ctx's ledger under host: the checkout's wait, when it took a
// while, and the attempt, with its status when not 2xx or 3xx, or how it
// failed.
func (c *checkoutTrace) record(ctx context.Context, host string, start, end int64, resp *http.Response, err error) {
	if c.getConn != 0 && c.gotConn >= c.getConn && time.Duration(c.gotConn-c.getConn) >= minCheckoutWait {
		record.Span(ctx, host, ledger.Wait, c.getConn, c.gotConn, "")
	}
	outcome := record.Outcome(err)
	switch {
	case err == nil && resp.StatusCode >= 400:
		outcome = strconv.Itoa(resp.StatusCode)
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		outcome = "timeout" // the policy's deadline ended it, whichever of its two signals came first
	}
	record.Span(ctx, host, ledger.Attempt, start, end, outcome)
}

// classify returns the response's *StatusError if it was classified as a
// failure, and what fn returns for an attempt's outcome.
func (g *guard) classify(resp *http.Response, err error) (status *StatusError, ret error) {
	switch {
	case err == nil && g.isFailure(resp, nil):
		status = &StatusError{StatusCode: resp.StatusCode}
		ret = status
		if after, ok := retryAfter(resp); ok {
			status.RetryAfter = after
			ret = &hintedStatus{status}
		}
	case err != nil && g.isFailure(nil, err):
		ret = err
	}
	return status, ret
}

// begin records a new attempt, and reports whether it is not the first.
// It refuses with an error when RoundTrip has returned. Responses of
// attempts that failed are parked now, before the next goes out: read
// into memory so that their connections go back to the pool, but kept,
// since the call may still end on one of them (a hedge returns its first
// attempt's error when every attempt fails).
func (x *exchange) begin() (a *attempt, again bool, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.claimed {
		return nil, false, errAfterReturn
	}
	again = x.started > 0
	if again {
		a = new(attempt)
		x.more = append(x.more, a)
	} else {
		a = &x.first
	}
	x.started++
	x.running++
	x.sent.Store(true)
	for i := range x.started - 1 {
		if b := x.at(i); b.delivered > 0 && !b.ok {
			b.park()
		}
	}
	return a, again, nil
}

// sentBefore reports whether fn has been called for x already, without
// the lock: the first attempt, on every request, only loads a flag.
func (x *exchange) sentBefore() bool { return x.sent.Load() }

// deliver records an attempt's outcome, or discards it if RoundTrip has
// returned already.
func (x *exchange) deliver(a *attempt, out attempt) {
	x.mu.Lock()
	x.running--
	if x.claimed {
		x.mu.Unlock()
		out.discard()
		return
	}
	x.finished++
	out.delivered = x.finished
	*a = out
	x.mu.Unlock()
}

// claim takes the outcome for RoundTrip once the policy returned err: the
// attempt that ended the call, if any, and every other attempt that has a
// response to discard. It reports whether fn was called at all, and
// whether no attempt is still running (x may then be reused).
//
// The attempt that ended the call: for a nil err, the first to succeed
// while its ctx was live (a hedge's winner; not an abandoned attempt that
// came back), or failing that the first to succeed (a success after our
// deadline, which a cooperative timeout passes on); for a *StatusError,
// the attempt that returned that very error.
//
// It returns copies, taken under the lock; won.delivered is 0 if no
// attempt ended the call. When the policy ended the call on a refusal to
// send the request again, the call ended with the attempt before, and
// ended is that attempt's error (nil if it succeeded); otherwise ended is
// err.
func (x *exchange) claim(err error) (won attempt, losers []attempt, sent bool, ended error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.claimed = true
	if endedBySentOnce(err) {
		if last := x.lastDelivered(); last != nil {
			err = last.ret
		}
	}
	status := statusOf(err)
	var win *attempt
	for i := range x.started {
		a := x.at(i)
		if a.delivered == 0 {
			continue
		}
		switch {
		case err == nil && a.ok && (win == nil || better(a, win)):
			win = a
		case status != nil && a.status == status:
			win = a
		}
	}
	for i := range x.started {
		if a := x.at(i); a != win && a.delivered > 0 && (a.resp != nil || a.cancel != nil) {
			losers = append(losers, *a)
		}
	}
	if win != nil {
		won = *win
	}
	return won, losers, x.started > 0, err
}

// lastDelivered returns the attempt that delivered last, or nil. x.mu
// must be held.
func (x *exchange) lastDelivered() *attempt {
	var last *attempt
	for i := range x.started {
		if a := x.at(i); a.delivered > 0 && (last == nil || a.delivered > last.delivered) {
			last = a
		}
	}
	return last
}

// endedBySentOnce reports whether err is a sentOnce refusal, without
// allocating when it is not (errors.As would, for every error).
func endedBySentOnce(err error) bool {
	if err == nil {
		return false
	}
	return errchain.Find(err, func(e error) bool { _, ok := e.(*sentOnce); return ok }) != nil
}

// statusOf returns the *StatusError in err's chain, or nil. Apart from
// claim, so that the pointer errors.As needs is on the heap only when
// there is an error.
func statusOf(err error) *StatusError {
	if err == nil {
		return nil
	}
	se, _ := errchain.Find(err, func(e error) bool { _, ok := e.(*StatusError); return ok }).(*StatusError)
	return se
}

// better reports whether success a ended the call rather than success b.
func better(a, b *attempt) bool {
	if a.live != b.live {
		return a.live
	}
	return a.delivered < b.delivered
}

// at returns attempt i (from 0) of those started. x.mu must be held.
// Plain loops over it, not a callback: a closure capturing the winner
// would move it to the heap, an allocation on every request.
func (x *exchange) at(i int) *attempt {
	if i == 0 {
		return &x.first
	}
	return x.more[i-1]
}

// park reads a failed attempt's response body into memory, up to
// maxDrain, and closes it, so that its connection is reused while the
// response waits to be returned or discarded. A longer body is left as it
// is: reading it whole would hold the connection as long.
func (a *attempt) park() {
	resp := a.resp
	if resp == nil || resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	switch resp.Body.(type) {
	case parked, *partlyRead:
		return // parked by an earlier attempt's begin
	}
	buf, err := io.ReadAll(io.LimitReader(resp.Body, maxDrain+1))
	if err != nil || len(buf) > maxDrain {
		resp.Body = &partlyRead{Reader: io.MultiReader(bytes.NewReader(buf), resp.Body), Closer: resp.Body}
		return
	}
	_ = resp.Body.Close()
	resp.Body = parked{bytes.NewReader(buf)}
	if a.cancel != nil {
		a.cancel() // nothing more to read on its request
		a.cancel = nil
	}
}

// parked is a failed response's body, read whole into memory.
type parked struct{ *bytes.Reader }

func (parked) Close() error { return nil }

// partlyRead is a failed response's body that was too long to read whole:
// what was read, then the rest.
type partlyRead struct {
	io.Reader
	io.Closer
}

// discard drains and closes a's response, if it has one, and ends its
// request's context.
func (a *attempt) discard() {
	if a.resp != nil {
		discard(a.resp)
		a.resp = nil
	}
	if a.cancel != nil {
		a.cancel()
		a.cancel = nil
	}
}

// detach returns a context with parent's values and cancellation and p's
// deadline, that p's own cancel does not end.
func detach(parent, p context.Context) (context.Context, context.CancelFunc) {
	if d, ok := p.Deadline(); ok {
		return context.WithDeadline(parent, d)
	}
	return context.WithCancel(parent)
}

// cancelOnClose ends the request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// maxDrain bounds how much of a discarded body is read to reuse its
// connection; a longer one is closed and its connection dropped.
const maxDrain = 64 << 10

func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	_ = resp.Body.Close()
}
