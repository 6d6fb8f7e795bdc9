package httpguard

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/typednil"
)

// TransportOption configures Transport and PerHost.
type TransportOption func(*guard)

// WithFailure replaces how an outbound request's outcome is classified for
// the policies (a breaker's failure count): isFailure gets the response or
// the transport's error, one of them nil. The default counts transport
// errors and 5xx responses as failures.
func WithFailure(isFailure func(resp *http.Response, err error) bool) TransportOption {
	return func(g *guard) { g.isFailure = isFailure }
}

func defaultIsFailure(resp *http.Response, err error) bool {
	return err != nil || resp.StatusCode >= 500
}

// StatusError is the error a policy sees for a response classified as a
// failure, so that a breaker counts it. The caller of RoundTrip never sees
// it: it gets the response unchanged.
type StatusError struct{ StatusCode int }

func (e *StatusError) Error() string {
	return "httpguard: response status " + strconv.Itoa(e.StatusCode)
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
	return &transport{guard: g, policy: p}, nil
}

type transport struct {
	*guard
	policy watertight.Policy
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTrip(req, t.policy)
}

// guard runs requests under policies; Transport and PerHost share it.
type guard struct {
	next      http.RoundTripper
	isFailure func(*http.Response, error) bool
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
	g := &guard{next: next, isFailure: defaultIsFailure}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("httpguard: " + who + ": an option is nil")
		}
		o(g)
	}
	if g.isFailure == nil {
		return nil, errors.New("httpguard: WithFailure: isFailure is nil")
	}
	return g, nil
}

// exchange is one request's hand-over between the policy's fn and
// RoundTrip. The policy may call fn more than once (a retry), at the same
// time (a hedge), and give up on a call that goes on running (an
// abandoning timeout): every call of fn is an attempt with its own record,
// and RoundTrip, once the policy has returned, keeps the one attempt that
// ended the call and discards every other response, including those of
// attempts that come back later. An exchange is reused only when no
// attempt is still running, so a late response can never reach another
// request. The first attempt's record is part of the exchange: a request
// sent once allocates nothing of its own.
type exchange struct {
	g   *guard
	req *http.Request
	fn  func(context.Context) error // x.send, bound once

	mu       sync.Mutex
	first    attempt
	more     []*attempt // attempts after the first
	started  int        // calls of fn
	running  int        // attempts that have not delivered
	finished int        // attempts that have delivered, for their order
	claimed  bool       // RoundTrip has taken the outcome; later ones are discarded
}

// attempt is one call of the policy's fn.
type attempt struct {
	resp      *http.Response
	err       error // the transport's error
	cancel    context.CancelFunc
	status    *StatusError // what fn returned for a response classified as a failure
	ok        bool         // fn returned nil
	live      bool         // fn's ctx was not done when it returned
	delivered int          // 1 + its place among the attempts that delivered; 0: running
}

var exchanges = sync.Pool{New: func() any {
	x := &exchange{}
	x.fn = x.send
	return x
}}

func (g *guard) roundTrip(req *http.Request, p watertight.Policy) (*http.Response, error) {
	x := exchanges.Get().(*exchange)
	x.g, x.req = g, req
	err := p.Do(req.Context(), x.fn)
	won, losers, sent, reusable := x.claim(err)
	if reusable { // won and losers are copies: x may go to the next request
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
	a := x.begin()
	if a == nil {
		return errAfterReturn
	}
	g, req := x.g, x.req
	out := req
	var cancel context.CancelFunc
	if ctx != req.Context() {
		// Keep the policy's deadline but not its cancellation when it
		// returns: the caller reads the body after that.
		var detached context.Context
		detached, cancel = detach(req.Context(), ctx)
		out = req.WithContext(detached)
	}
	resp, err := g.next.RoundTrip(out)
	if err != nil && out != req && errors.Is(out.Context().Err(), context.DeadlineExceeded) {
		// Our copy of the policy's deadline fired; the policy's own timer
		// for the same instant may not have yet. Wait for it, so that the
		// policy sees its deadline as the reason (a timeout's ErrExceeded).
		<-ctx.Done()
	}
	var ret error
	var status *StatusError
	switch {
	case err == nil && g.isFailure(resp, nil):
		status = &StatusError{StatusCode: resp.StatusCode}
		ret = status
	case err != nil && g.isFailure(nil, err):
		ret = err
	}
	x.deliver(a, attempt{resp: resp, err: err, cancel: cancel, status: status, ok: ret == nil, live: ctx.Err() == nil})
	return ret
}

// begin records a new attempt, or returns nil if RoundTrip has returned.
// Responses of attempts that failed are discarded now, before the next
// goes out: the policy has decided on them.
func (x *exchange) begin() *attempt {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.claimed {
		return nil
	}
	a := &x.first
	if x.started > 0 {
		a = new(attempt)
		x.more = append(x.more, a)
	}
	x.started++
	x.running++
	for i := range x.started - 1 {
		if b := x.at(i); b.delivered > 0 && !b.ok {
			b.discard()
		}
	}
	return a
}

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
// It returns copies, so that x may be reused at once; won.delivered is 0
// if no attempt ended the call.
func (x *exchange) claim(err error) (won attempt, losers []attempt, sent, reusable bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.claimed = true
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
	return won, losers, x.started > 0, x.running == 0
}

// statusOf returns the *StatusError in err's chain, or nil. Apart from
// claim, so that the pointer errors.As needs is on the heap only when
// there is an error.
func statusOf(err error) *StatusError {
	if err == nil {
		return nil
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se
	}
	return nil
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
