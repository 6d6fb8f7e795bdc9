package watertightgrpc

import (
	"context"
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/typednil"
)

// UnaryClientInterceptor returns an interceptor that runs each unary RPC
// under p (see the package doc). A nil p (or a nil pointer in it), or a
// nil option, is an error: a service must fail at start-up, not on its
// first call.
func UnaryClientInterceptor(p watertight.Policy, opts ...Option) (grpc.UnaryClientInterceptor, error) {
	if typednil.Is(p) {
		return nil, errors.New("watertightgrpc: UnaryClientInterceptor: policy is " + typednil.Describe(p))
	}
	o, err := newOptions("UnaryClientInterceptor", opts)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		return unaryCall(ctx, p, o, method, req, reply, cc, invoker, callOpts)
	}, nil
}

func unaryCall(ctx context.Context, p watertight.Policy, o *options, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts []grpc.CallOption) error {
	c := unaries.Get().(*unary)
	c.o, c.method, c.req, c.reply, c.cc, c.invoker, c.callOpts = o, method, req, reply, cc, invoker, callOpts
	err := p.Do(ctx, c.fn)
	var out error
	if err != nil {
		out = rpcError(err)
	} else {
		out = c.result()
	}
	if c.reusable() {
		*c = unary{fn: c.fn, opts: c.opts[:0]}
		unaries.Put(c)
	}
	return out
}

// unary is one unary call's attempts. The first attempt decodes into the
// caller's reply and reads its trailer into the record; those after it,
// which a hedge may run at the same time, decode into replies of their own,
// and the one that ended the call is merged into the caller's once the
// policy has returned — by then the first attempt has returned too, so
// nothing writes the caller's reply at once. Records are reused, with
// their fn bound once and their option buffer, so that a call allocates
// nothing of its own.
type unary struct {
	fn       func(context.Context) error // c.attempt, bound once
	o        *options
	method   string
	req      any
	reply    any
	cc       *grpc.ClientConn
	invoker  grpc.UnaryInvoker
	callOpts []grpc.CallOption
	opts     []grpc.CallOption // the first attempt's: callOpts and its trailer
	trailer  metadata.MD       // the first attempt's

	mu      sync.Mutex
	started int // attempts started
	running int // attempts not yet returned
	decided bool
	winner  any   // the reply of the first attempt the server answered
	winErr  error // its RPC error: nil, or a status that is not a failure (NotFound …)
}

var unaries = sync.Pool{New: func() any {
	c := &unary{}
	c.fn = c.attempt
	return c
}}

// attempt is the policy's fn: one RPC.
func (c *unary) attempt(ctx context.Context) error {
	out, trailer, opts := c.begin()
	rpcErr := c.invoker(ctx, c.method, c.req, out, c.cc, opts...)
	c.mu.Lock()
	c.running--
	c.mu.Unlock()
	if c.o.isFailure(rpcErr) {
		return failure(rpcErr, *trailer)
	}
	c.answered(out, rpcErr)
	return nil // the server answered: its status, whatever it is, goes to the caller
}

// begin returns an attempt's reply, the trailer it reads, and its options.
func (c *unary) begin() (out any, trailer *metadata.MD, opts []grpc.CallOption) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started++
	c.running++
	if c.started == 1 {
		c.opts = append(append(c.opts[:0], c.callOpts...), grpc.Trailer(&c.trailer))
		return c.reply, &c.trailer, c.opts
	}
	trailer = new(metadata.MD)
	opts = append(append([]grpc.CallOption(nil), c.callOpts...), grpc.Trailer(trailer))
	if m, ok := c.reply.(proto.Message); ok {
		return m.ProtoReflect().New().Interface(), trailer, opts
	}
	return c.reply, trailer, opts // not a protobuf message: one reply, shared by the attempts
}

// answered records an attempt the server answered (no failure): the first
// one ends the call, as the policy saw it succeed first.
func (c *unary) answered(out any, rpcErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.decided {
		c.decided, c.winner, c.winErr = true, out, rpcErr
	}
}

// reusable reports whether no attempt is still running (a hedge's loser,
// an abandoned attempt): only then may the record go to another call.
func (c *unary) reusable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running == 0
}

// result is what the call returns when the policy returned nil: the error
// of the first attempt that answered (the policy stopped on an answer),
// its reply merged into the caller's.
func (c *unary) result() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.decided {
		return errNotCalled
	}
	if c.winner != c.reply {
		if dst, ok := c.reply.(proto.Message); ok {
			proto.Reset(dst)
			proto.Merge(dst, c.winner.(proto.Message))
		}
	}
	return c.winErr
}

var errNotCalled = errors.New("watertightgrpc: the policy returned without making the call")

// StreamClientInterceptor returns an interceptor that opens each stream
// under p: the policy covers opening the stream, until the streamer
// returns — a refusal or a failure to open is the policy's to count, and a
// retry opens it again. What happens on the stream after it is open is the
// caller's: the stream runs with the caller's ctx, not the policy's (whose
// timeout would end it), and its messages are not retried. A nil p (or a
// nil pointer in it), or a nil option, is an error.
func StreamClientInterceptor(p watertight.Policy, opts ...Option) (grpc.StreamClientInterceptor, error) {
	if typednil.Is(p) {
		return nil, errors.New("watertightgrpc: StreamClientInterceptor: policy is " + typednil.Describe(p))
	}
	o, err := newOptions("StreamClientInterceptor", opts)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		return openStream(ctx, p, o, desc, cc, method, streamer, callOpts)
	}, nil
}

func openStream(ctx context.Context, p watertight.Policy, o *options, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts []grpc.CallOption) (grpc.ClientStream, error) {
	var mu sync.Mutex
	var cs grpc.ClientStream
	var cancelStream context.CancelFunc
	err := p.Do(ctx, func(pctx context.Context) error {
		sctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(pctx, cancel) // the policy's deadline and cancellation bound the opening only
		s, err := streamer(sctx, desc, cc, method, callOpts...)
		stop()
		if err != nil {
			cancel()
			if o.isFailure(err) {
				return failure(err, nil)
			}
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if cs != nil {
			cancel() // another attempt opened one first (a hedge)
			return nil
		}
		cs, cancelStream = s, cancel
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		if cancelStream != nil {
			cancelStream()
		}
		return nil, rpcError(err)
	}
	if cs == nil {
		return nil, errNotCalled
	}
	return &clientStream{ClientStream: cs, cancel: cancelStream}, nil
}

// clientStream ends the stream's own ctx once the stream is over, as
// grpc-go frees a stream: RecvMsg returned an error (io.EOF included), or
// Header or SendMsg returned one other than io.EOF (with io.EOF from
// SendMsg, the status is for RecvMsg to read). Cancelling the caller's ctx
// ends it too.
type clientStream struct {
	grpc.ClientStream
	cancel context.CancelFunc
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.cancel()
	}
	return err
}

func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && !errors.Is(err, io.EOF) {
		s.cancel()
	}
	return err
}

func (s *clientStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if err != nil && !errors.Is(err, io.EOF) {
		s.cancel()
	}
	return md, err
}
