package httpguard

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/watertight-go/watertight"
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
// A nil next or p is an error.
func Transport(next http.RoundTripper, p watertight.Policy, opts ...TransportOption) (http.RoundTripper, error) {
	switch {
	case next == nil:
		return nil, errors.New("httpguard: Transport: next is nil")
	case p == nil:
		return nil, errors.New("httpguard: Transport: policy is nil")
	}
	g := newGuard(next, opts)
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

func newGuard(next http.RoundTripper, opts []TransportOption) *guard {
	g := &guard{next: next, isFailure: defaultIsFailure}
	for _, o := range opts {
		o(g)
	}
	return g
}

// exchange is one request's hand-over between the policy's fn, which may
// be abandoned and finish late, and RoundTrip. Exchanges are reused when
// fn is known to be done with them, so a guarded request allocates nothing
// of its own.
type exchange struct {
	g   *guard
	req *http.Request
	fn  func(context.Context) error // x.send, bound once

	mu        sync.Mutex
	resp      *http.Response
	err       error // the transport's error
	cancel    context.CancelFunc
	delivered bool // fn has handed over and will not touch x again
	claimed   bool // RoundTrip has taken the outcome; a late one is discarded
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
	resp, cancel, rtErr, reusable := x.claim()
	if reusable {
		*x = exchange{fn: x.fn}
		exchanges.Put(x)
	}
	if err == nil && rtErr != nil {
		err = rtErr // a transport error the classification let pass
	}
	if err == nil && resp == nil {
		err = errNotSent // a RoundTripper must return a response or an error
	}
	switch {
	case err == nil, resp != nil && isStatusError(err):
		if cancel != nil {
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		}
		return resp, nil
	}
	if resp != nil {
		discard(resp)
	}
	if cancel != nil {
		cancel()
	}
	return nil, err
}

// errNotSent is returned when the policy returned nil without calling fn.
var errNotSent = errors.New("httpguard: the policy returned without sending the request")

// isStatusError reports whether err is the *StatusError send reported:
// the policy passed on the classification of a response.
func isStatusError(err error) bool {
	var se *StatusError
	return errors.As(err, &se)
}

// send is the policy's fn: it sends the request with the policy's ctx.
func (x *exchange) send(ctx context.Context) error {
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
	if !x.deliver(resp, err, cancel) {
		return err // too late: discarded
	}
	if err == nil && g.isFailure(resp, nil) {
		return &StatusError{StatusCode: resp.StatusCode}
	}
	if err != nil && !g.isFailure(nil, err) {
		return nil
	}
	return err
}

// deliver hands fn's outcome over, unless RoundTrip has already returned;
// then it drains the response itself and reports false.
func (x *exchange) deliver(resp *http.Response, err error, cancel context.CancelFunc) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.claimed {
		if resp != nil {
			discard(resp)
		}
		if cancel != nil {
			cancel()
		}
		return false
	}
	if x.delivered { // the policy ran fn again (a retry): drop the previous attempt
		if x.resp != nil {
			discard(x.resp)
		}
		if x.cancel != nil {
			x.cancel()
		}
	}
	x.resp, x.err, x.cancel, x.delivered = resp, err, cancel, true
	return true
}

// claim takes fn's outcome, and reports whether fn is done with x.
func (x *exchange) claim() (resp *http.Response, cancel context.CancelFunc, rtErr error, reusable bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.claimed = true
	return x.resp, x.cancel, x.err, x.delivered
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
