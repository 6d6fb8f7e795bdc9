package watertightgrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/internal/withindo"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/retry"
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
	reuse := withindo.Only(p)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		return unaryCall(ctx, p, reuse, o, method, req, reply, cc, invoker, callOpts)
	}, nil
}

// unaryCall makes one unary call under p. reuse says p calls fn only
// within its Do, so that the call's record may go to the next call.
func unaryCall(ctx context.Context, p watertight.Policy, reuse bool, o *options, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts []grpc.CallOption) error {
	var c *unary
	if reuse {
		c = unaries.Get().(*unary)
	} else {
		c = &unary{}
		c.fn = c.attempt
	}
	c.o, c.method, c.req, c.reply, c.cc, c.invoker, c.callOpts = o, method, req, reply, cc, invoker, callOpts
	err := p.Do(ctx, c.fn)
	c.claim()
	if err != nil {
		err = rpcError(err)
	} else {
		err = c.result()
	}
	if reuse {
		*c = unary{fn: c.fn, opts: c.opts[:0]}
		unaries.Put(c)
	}
	return err
}

var unaries = sync.Pool{New: func() any {
	c := &unary{}
	c.fn = c.attempt
	return c
}}

// unary is one unary call's attempts. The first attempt decodes into the
// caller's reply and reads its trailer into the record; those after it,
// which a hedge may run at the same time, decode into replies of their own,
// and the one that ended the call is copied into the caller's once the
// policy has returned and the first attempt has returned too, so that
// nothing writes the caller's reply at once.
//
// The policy's fn is bound to the record, and a policy may call fn after
// its Do returned (a hedge launched as the call was decided): a record is
// reused, with its option buffer, only for a policy known to call fn only
// within its Do (internal/withindo), and made for each call otherwise; a
// late attempt finds the call claimed and makes no RPC.
type unary struct {
	fn       func(context.Context) error // c.attempt, bound once
	opts     []grpc.CallOption           // the first attempt's: callOpts and its trailer
	o        *options
	method   string
	req      any
	reply    any
	cc       *grpc.ClientConn
	invoker  grpc.UnaryInvoker
	callOpts []grpc.CallOption
	trailer  metadata.MD // the first attempt's

	mu           sync.Mutex
	started      int  // attempts started
	firstRunning bool // the first attempt, which writes the caller's reply, has not returned
	firstDone    chan struct{}
	claimed      bool // the policy has returned: no attempt may start
	decided      bool
	winner       any   // the reply of the first attempt the server answered
	winErr       error // its RPC error: nil, or a status that is not a failure (NotFound …)
}

// attempt is the policy's fn: one RPC.
func (c *unary) attempt(ctx context.Context) error {
	out, trailer, opts, first, err := c.begin()
	if err != nil {
		return err
	}
	start := record.Now(ctx) // 0 without a ledger: no clock read
	rpcErr := c.invoker(ctx, c.method, c.req, out, c.cc, opts...)
	if start != 0 {
		record.Span(ctx, strings.TrimPrefix(c.method, "/"), ledger.Attempt, start, 0, statusOutcome(rpcErr))
	}
	if first {
		c.mu.Lock()
		c.firstRunning = false
		if c.firstDone != nil {
			close(c.firstDone)
		}
		c.mu.Unlock()
	}
	if c.o.isFailure(rpcErr) {
		return failure(rpcErr, *trailer)
	}
	c.answered(out, rpcErr)
	return nil // the server answered: its status, whatever it is, goes to the caller
}

// statusOutcome is the ledger's word for an RPC's error: "" for OK, else
// its code ("Unavailable").
func statusOutcome(err error) string {
	if err == nil {
		return ""
	}
	return status.Code(err).String()
}

// begin returns an attempt's reply, the trailer it reads, and its options,
// or an error when the call is over or the reply cannot be had twice.
func (c *unary) begin() (out any, trailer *metadata.MD, opts []grpc.CallOption, first bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.claimed {
		return nil, nil, nil, false, errAfterReturn
	}
	c.started++
	if c.started == 1 {
		c.firstRunning = true
		c.opts = append(append(c.opts[:0], c.callOpts...), grpc.Trailer(&c.trailer))
		return c.reply, &c.trailer, c.opts, true, nil
	}
	out, err = newReply(c.reply)
	if err != nil {
		return nil, nil, nil, false, err
	}
	trailer = new(metadata.MD)
	opts = append(append(make([]grpc.CallOption, 0, len(c.callOpts)+1), c.callOpts...), grpc.Trailer(trailer))
	return out, trailer, opts, false, nil
}

// newReply returns an empty reply of reply's type for an attempt after the
// first: a new value of what reply points to (a generated protobuf
// message's zero value is an empty message; another codec's reply is
// usually a pointer too). It looks at reply's type only, never at the
// value, which the first attempt may be decoding into. A reply that is not
// a pointer cannot be decoded into twice at once: that attempt fails with
// a Permanent error, which stops a retry or a hedge.
func newReply(reply any) (any, error) {
	t := reflect.TypeOf(reply)
	if t == nil || t.Kind() != reflect.Pointer {
		return nil, retry.Permanent(fmt.Errorf("watertightgrpc: a reply of type %T cannot be decoded by a second attempt: it is not a pointer", reply))
	}
	return reflect.New(t.Elem()).Interface(), nil
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

// claim ends the call for attempts that have not begun, and waits until
// the first attempt, which decodes into the caller's reply, has returned:
// once the interceptor returns, nothing writes the caller's reply. A
// policy that left it running (an abandoning timeout) cancelled its ctx,
// and grpc-go ends a call whose ctx ended at once.
func (c *unary) claim() {
	c.mu.Lock()
	c.claimed = true
	var wait chan struct{}
	if c.firstRunning {
		c.firstDone = make(chan struct{})
		wait = c.firstDone
	}
	c.mu.Unlock()
	if wait != nil {
		<-wait
	}
}

// result is what the call returns when the policy returned nil: the error
// of the first attempt that answered (the policy stopped on an answer),
// its reply copied into the caller's.
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
		} else {
			reflect.ValueOf(c.reply).Elem().Set(reflect.ValueOf(c.winner).Elem())
		}
	}
	return c.winErr
}

// errAfterReturn is what fn returns when a policy calls it after its Do
// returned: the call is over, and no RPC is made.
var errAfterReturn = errors.New("watertightgrpc: the policy called fn after it returned")

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
		start := record.Now(pctx)
		s, err := streamer(sctx, desc, cc, method, callOpts...)
		if start != 0 {
			record.Span(pctx, strings.TrimPrefix(method, "/"), ledger.Attempt, start, 0, statusOutcome(err))
		}
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
