package watertightgrpc

import (
	"context"
	"errors"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/timeout"
)

// UnaryServerInterceptor returns an interceptor that serves each unary
// RPC under p. A refusal by p becomes codes.Unavailable (or the code of
// WithRejectCode) with the grpc-retry-pushback-ms trailer when p knows how
// long (watertight.RetryAfter: an open breaker does); p's own deadline
// (timeout.ErrExceeded) becomes codes.DeadlineExceeded; the handler's own
// status goes to the client unchanged, and is classified like a client's
// for a breaker in p (NotFound a success, Unavailable a failure). A nil p
// (or a nil pointer in it), or a nil option, is an error.
func UnaryServerInterceptor(p watertight.Policy, opts ...Option) (grpc.UnaryServerInterceptor, error) {
	if typednil.Is(p) {
		return nil, errors.New("watertightgrpc: UnaryServerInterceptor: policy is " + typednil.Describe(p))
	}
	o, err := newOptions("UnaryServerInterceptor", opts)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return serveUnary(ctx, p, o, req, handler)
	}, nil
}

func serveUnary(ctx context.Context, p watertight.Policy, o *options, req any, handler grpc.UnaryHandler) (any, error) {
	var resp any
	var handlerErr error
	err := p.Do(ctx, func(ctx context.Context) error {
		resp, handlerErr = handler(ctx, req)
		if o.isFailure(handlerErr) {
			return &failed{err: handlerErr}
		}
		return nil
	})
	if err == nil {
		return resp, handlerErr
	}
	return nil, o.serverError(ctx, err)
}

// StreamServerInterceptor returns an interceptor that serves each stream
// under p, for the whole of the handler: as UnaryServerInterceptor, with
// the stream's ctx replaced by p's. A nil p (or a nil pointer in it), or a
// nil option, is an error.
func StreamServerInterceptor(p watertight.Policy, opts ...Option) (grpc.StreamServerInterceptor, error) {
	if typednil.Is(p) {
		return nil, errors.New("watertightgrpc: StreamServerInterceptor: policy is " + typednil.Describe(p))
	}
	o, err := newOptions("StreamServerInterceptor", opts)
	if err != nil {
		return nil, err
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return serveStream(p, o, srv, ss, handler)
	}, nil
}

func serveStream(p watertight.Policy, o *options, srv any, ss grpc.ServerStream, handler grpc.StreamHandler) error {
	var handlerErr error
	err := p.Do(ss.Context(), func(ctx context.Context) error {
		handlerErr = handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
		if o.isFailure(handlerErr) {
			return &failed{err: handlerErr}
		}
		return nil
	})
	if err == nil {
		return handlerErr
	}
	return o.serverError(ss.Context(), err)
}

type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// serverError is what the client gets when the server's policy returned
// err: the handler's own status, or a status for the policy's refusal (with
// the pushback trailer) or deadline. A handler that returned an error
// without a status of its own (Unknown: a plain error, or the ctx's) once
// the policy's deadline had fired gets DeadlineExceeded, which is what
// ended it.
func (o *options) serverError(ctx context.Context, err error) error {
	var f *failed
	if errors.As(err, &f) {
		if errors.Is(err, timeout.ErrExceeded) && status.Code(f.err) == codes.Unknown {
			return status.Error(codes.DeadlineExceeded, err.Error())
		}
		return f.err
	}
	if errors.Is(err, watertight.ErrRejected) {
		if d, ok := watertight.RetryAfter(err); ok {
			_ = grpc.SetTrailer(ctx, metadata.Pairs(PushbackKey, pushback(ctx, d)))
		}
		return status.Error(o.rejectCode, err.Error())
	}
	if st, ok := status.FromError(rpcError(err)); ok {
		return st.Err()
	}
	return err
}

// pushback is the grpc-retry-pushback-ms value for a wait of d: whole
// milliseconds, rounded up so that a client never comes back early; a
// negative one (do not retry) stays negative, however small; and a wait
// that would end past the call's deadline is "do not retry" too: a client
// that honoured it would only wait out its deadline (grpc-go's retry does).
func pushback(ctx context.Context, d time.Duration) string {
	if d < 0 {
		return "-1"
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= d {
		return "-1"
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return strconv.FormatInt(int64(ms), 10)
}
