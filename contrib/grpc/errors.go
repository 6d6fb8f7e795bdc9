package watertightgrpc

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/errchain"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// PushbackKey is gRFC A6's trailer: how long the server asks the client to
// wait before it retries, in milliseconds; negative: do not retry.
const PushbackKey = "grpc-retry-pushback-ms"

// defaultFailures are the codes that count as failures for a breaker (and
// a retry) by default: those that say the server could not serve the call
// now. The others — NotFound, InvalidArgument, PermissionDenied … — are
// the server answering, and count as successes.
var defaultFailures = []codes.Code{codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Internal, codes.Unknown, codes.Aborted}

// options configures the interceptors.
type options struct {
	failures   [32]bool // by code
	rejectCode codes.Code
}

// Option configures an interceptor.
type Option func(*options)

// WithFailureCodes replaces the codes counted as failures for the policy
// (a breaker's count, a retry's decision). The default: Unavailable,
// DeadlineExceeded, ResourceExhausted, Internal, Unknown and Aborted.
func WithFailureCodes(failures ...codes.Code) Option {
	return func(o *options) {
		o.failures = [32]bool{}
		for _, c := range failures {
			if int(c) < len(o.failures) {
				o.failures[c] = true
			}
		}
	}
}

// WithRejectCode sets the code a server interceptor answers a refusal by
// its policy with: codes.Unavailable (the default, which clients retry) or
// codes.ResourceExhausted.
func WithRejectCode(c codes.Code) Option { return func(o *options) { o.rejectCode = c } }

func newOptions(who string, opts []Option) (*options, error) {
	o := &options{rejectCode: codes.Unavailable}
	for _, c := range defaultFailures {
		o.failures[c] = true
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("watertightgrpc: " + who + ": an option is nil")
		}
		opt(o)
	}
	if o.rejectCode != codes.Unavailable && o.rejectCode != codes.ResourceExhausted {
		return nil, errors.New("watertightgrpc: WithRejectCode: must be Unavailable or ResourceExhausted, got " + o.rejectCode.String())
	}
	return o, nil
}

// isFailure reports whether an RPC's error is a failure for the policy.
func (o *options) isFailure(err error) bool {
	if err == nil {
		return false
	}
	c := status.Code(err)
	return int(c) < len(o.failures) && o.failures[c]
}

// failed is an RPC's failure as the policy sees it: the server's status,
// and the pushback it sent, as a hint.
type failed struct {
	err   error // the RPC's error, unchanged
	after time.Duration
}

func (f *failed) Error() string              { return f.err.Error() }
func (f *failed) Unwrap() error              { return f.err }
func (f *failed) GRPCStatus() *status.Status { return status.Convert(f.err) }

// hintedFailure carries a pushback hint: a separate type, so that
// watertight.RetryAfter finds a hint only where the server sent one.
type hintedFailure struct{ *failed }

func (h *hintedFailure) Unwrap() error                 { return h.failed }
func (h *hintedFailure) RetryAfterHint() time.Duration { return h.after }

// failure wraps an RPC's error for the policy, with the trailer's
// pushback. A negative pushback — the server says not to retry — is also
// a retry.Permanent error, so that a hedge does not try again either.
func failure(err error, trailer metadata.MD) error {
	f := &failed{err: err}
	vs := trailer.Get(PushbackKey)
	if len(vs) == 0 {
		return f
	}
	ms, perr := strconv.ParseInt(vs[0], 10, 64)
	if perr != nil {
		return f
	}
	f.after = time.Duration(max(min(ms, math.MaxInt64/int64(time.Millisecond)), math.MinInt64/int64(time.Millisecond))) * time.Millisecond
	h := &hintedFailure{f}
	if ms < 0 {
		return retry.Permanent(h)
	}
	return h
}

// rpcError returns what the caller of an RPC gets when the policy returned
// err: the RPC's own error (the server's status, unchanged, with the
// server's pushback as its hint when it sent one) if an attempt ended the
// call, or a status for the policy's own refusal or deadline, which still
// matches the policy's error through errors.Is.
func rpcError(err error) error {
	if h, ok := errchain.Find(err, func(e error) bool { _, ok := e.(*hintedFailure); return ok }).(*hintedFailure); ok {
		return h // status.Code and status.FromError give the server's status; watertight.RetryAfter its pushback
	}
	var f *failed
	if errors.As(err, &f) {
		return f.err
	}
	switch {
	case errors.Is(err, watertight.ErrRejected):
		return &policyStatus{st: status.New(codes.Unavailable, err.Error()), err: err}
	case errors.Is(err, timeout.ErrExceeded):
		return &policyStatus{st: status.New(codes.DeadlineExceeded, err.Error()), err: err}
	case errors.Is(err, context.Canceled):
		return &policyStatus{st: status.New(codes.Canceled, err.Error()), err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &policyStatus{st: status.New(codes.DeadlineExceeded, err.Error()), err: err}
	}
	return err
}

// policyStatus is a status for an error of the policy's own: status.Code
// and status.FromError give the status, errors.Is the policy's error (a
// refusal matches watertight.ErrRejected).
type policyStatus struct {
	st  *status.Status
	err error
}

func (p *policyStatus) Error() string              { return p.st.Err().Error() }
func (p *policyStatus) GRPCStatus() *status.Status { return p.st }
func (p *policyStatus) Unwrap() error              { return p.err }
