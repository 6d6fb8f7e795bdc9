package watertightgrpc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	watertightgrpc "github.com/watertight-go/watertight/contrib/grpc"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// health is a test server whose Check does what its request's Service
// says: "ok", "notfound", "unavailable", "pushback:<ms>" (Unavailable with
// that trailer), "slow" (until its ctx ends), "flaky" (Unavailable on the
// first call, then SERVING), "slowfirst" (the first call slow, then fast).
type health struct {
	healthpb.UnimplementedHealthServer
	calls   atomic.Int32
	arrived chan struct{} // if set, each "slow" call says it has arrived
}

func (h *health) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	n := h.calls.Add(1)
	serving := &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}
	switch s := req.GetService(); {
	case s == "ok":
		return serving, nil
	case s == "notfound":
		return nil, status.Error(codes.NotFound, "no such service")
	case s == "unavailable":
		return nil, status.Error(codes.Unavailable, "down")
	case strings.HasPrefix(s, "pushback:"):
		_ = grpc.SetTrailer(ctx, metadata.Pairs(watertightgrpc.PushbackKey, strings.TrimPrefix(s, "pushback:")))
		if n > 1 && !strings.HasPrefix(s, "pushback:-") {
			return serving, nil
		}
		return nil, status.Error(codes.Unavailable, "busy")
	case s == "slow":
		if h.arrived != nil {
			h.arrived <- struct{}{}
		}
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	case s == "flaky" && n == 1:
		return nil, status.Error(codes.Unavailable, "flaky")
	case s == "slowplain":
		<-ctx.Done()
		return nil, errors.New("gave up") // a plain error, no status of its own
	case s == "slowfirst" && n == 1:
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return serving, nil
}

func (h *health) List(context.Context, *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	return &healthpb.HealthListResponse{}, nil
}

func (h *health) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	if req.GetService() == "later" {
		<-time.After(50 * time.Millisecond) // the first update comes after the client's policy would have timed out
	}
	return stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})
}

// serve starts h on an in-memory listener with the given server options and
// returns a client connection to it with the given dial options.
func serve(t *testing.T, h *health, serverOpts []grpc.ServerOption, dialOpts ...grpc.DialOption) healthpb.HealthClient {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(serverOpts...)
	healthpb.RegisterHealthServer(srv, h)
	go func() { _ = srv.Serve(ln) }()
	conn, err := grpc.NewClient("passthrough:///bufnet", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, dialOpts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	return healthpb.NewHealthClient(conn)
}

func check(c healthpb.HealthClient, service string, opts ...grpc.CallOption) error {
	_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service}, opts...)
	return err
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A server whose breaker is open answers Unavailable with the pushback of
// its open period; its streams too.
func TestServerRejectionIsUnavailableWithPushback(t *testing.T) {
	b := breaker.MustNew(breaker.Config{Name: "health", WindowCalls: 2, OpenBackoff: backoff.NewConstantBackOff(30 * time.Second)})
	c := serve(t, &health{}, []grpc.ServerOption{
		grpc.UnaryInterceptor(must(watertightgrpc.UnaryServerInterceptor(b))),
		grpc.StreamInterceptor(must(watertightgrpc.StreamServerInterceptor(b))),
	})
	for range 2 {
		assert.Equal(t, codes.Unavailable, status.Code(check(c, "unavailable")), "the handler's own Unavailable, a failure")
	}
	require.Equal(t, breaker.Open, b.State())
	var trailer metadata.MD
	err := check(c, "ok", grpc.Trailer(&trailer))
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, []string{"30000"}, trailer.Get(watertightgrpc.PushbackKey))

	stream, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	_, err = stream.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err), "a stream refused by the server's policy")
	assert.Equal(t, []string{"30000"}, stream.Trailer().Get(watertightgrpc.PushbackKey), "with its pushback")
}

// The server's own deadline becomes DeadlineExceeded; a handler's NotFound
// passes through unchanged and is no failure for the breaker.
func TestServerDeadlineAndHandlerStatuses(t *testing.T) {
	b := breaker.MustNew(breaker.Config{WindowCalls: 4})
	c := serve(t, &health{}, []grpc.ServerOption{grpc.UnaryInterceptor(must(watertightgrpc.UnaryServerInterceptor(watertight.Chain(
		b, timeout.MustNew(timeout.Config{Duration: 20 * time.Millisecond}),
	))))})
	err := check(c, "slow")
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
	for range 3 {
		err = check(c, "notfound")
		assert.Equal(t, codes.NotFound, status.Code(err))
		assert.Equal(t, "no such service", status.Convert(err).Message())
	}
	assert.Equal(t, breaker.Closed, b.State(), "NotFound is the server answering")
}

// Client side: a server's pushback becomes the retry's wait; the caller
// gets the server's status; a server's Unavailable is no refusal of ours.
func TestClientPushbackAndStatuses(t *testing.T) {
	var delays []time.Duration
	r := retry.MustNew(retry.Config{Budget: budget.MustNew(budget.Config{Ratio: 10}),
		OnRetry: func(a retry.Attempt) { delays = append(delays, a.Delay) }})
	h := &health{}
	c := serve(t, h, nil, grpc.WithUnaryInterceptor(must(watertightgrpc.UnaryClientInterceptor(r))))

	require.NoError(t, check(c, "pushback:30"))
	require.Len(t, delays, 1)
	assert.GreaterOrEqual(t, delays[0], 30*time.Millisecond, "the pushback is the wait")
	assert.LessOrEqual(t, delays[0], 33*time.Millisecond)

	h.calls.Store(0)
	delays = nil
	err := check(c, "pushback:-1")
	assert.Equal(t, codes.Unavailable, status.Code(err), "the server's status, unchanged")
	assert.Empty(t, delays, "a negative pushback: no retry")
	assert.Equal(t, int32(1), h.calls.Load())

	err = check(c, "notfound")
	assert.Equal(t, codes.NotFound, status.Code(err))
	err = check(c, "unavailable")
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.NotErrorIs(t, err, watertight.ErrRejected, "the call reached the server")
	st, ok := status.FromError(err)
	require.True(t, ok, "status.FromError sees through the retry's wrapping")
	assert.Equal(t, "down", st.Message())
}

// A refusal by the client's own policy is an Unavailable status that still
// matches watertight.ErrRejected; its deadline, DeadlineExceeded.
func TestClientPolicyRefusalAndDeadline(t *testing.T) {
	full := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	release, err := full.Acquire(context.Background())
	require.NoError(t, err)
	defer release()
	c := serve(t, &health{}, nil, grpc.WithUnaryInterceptor(must(watertightgrpc.UnaryClientInterceptor(full))))
	err = check(c, "ok")
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorIs(t, err, watertight.ErrRejected)
	assert.ErrorIs(t, err, bulkhead.ErrFull)

	slowc := serve(t, &health{}, nil, grpc.WithUnaryInterceptor(must(watertightgrpc.UnaryClientInterceptor(
		timeout.MustNew(timeout.Config{Duration: 20 * time.Millisecond})))))
	err = check(slowc, "slow")
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err), "the policy's deadline went on the wire")
}

// A retry and a hedge inside the client's policy: each attempt a fresh
// RPC, and the caller gets the reply of the one that ended the call.
func TestClientRetryAndHedge(t *testing.T) {
	r := retry.MustNew(retry.Config{Budget: budget.MustNew(budget.Config{Ratio: 10}),
		Backoff: func() backoff.BackOff { return backoff.NewConstantBackOff(time.Millisecond) }})
	h := &health{}
	c := serve(t, h, nil, grpc.WithUnaryInterceptor(must(watertightgrpc.UnaryClientInterceptor(r))))
	resp, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "flaky"})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	assert.Equal(t, int32(2), h.calls.Load())

	hg := hedge.MustNew(hedge.Config{Delay: 20 * time.Millisecond, Budget: budget.MustNew(budget.Config{Ratio: 10})})
	h2 := &health{}
	c2 := serve(t, h2, nil, grpc.WithUnaryInterceptor(must(watertightgrpc.UnaryClientInterceptor(hg))))
	resp, err = c2.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "slowfirst"})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus(), "the hedge's reply, merged into the caller's")
	assert.Equal(t, uint64(1), hg.Stats().HedgeWins)
}

// A slow method behind a client bulkhead and timeout of its own leaves the
// other methods' calls unaffected.
func TestPerMethodIsolation(t *testing.T) {
	var mu sync.Mutex
	bulkheads := map[string]*bulkhead.Bulkhead{}
	methods := must(watertightgrpc.PerMethod(func(method string) (watertight.Policy, error) {
		b := bulkhead.MustNew(bulkhead.Config{Name: method, MaxConcurrent: 2})
		mu.Lock()
		bulkheads[method] = b
		mu.Unlock()
		return watertight.Chain(b, timeout.MustNew(timeout.Config{Name: method, Duration: 200 * time.Millisecond})), nil
	}))
	h := &health{arrived: make(chan struct{}, 2)}
	c := serve(t, h, nil, grpc.WithUnaryInterceptor(must(methods.UnaryClientInterceptor())))
	slow := make(chan error, 2)
	for range 2 {
		go func() { slow <- check(c, "slow") }()
	}
	<-h.arrived
	<-h.arrived // both slow calls reached the server: they hold both slots of Check
	mu.Lock()
	assert.Equal(t, 2, bulkheads["/grpc.health.v1.Health/Check"].Stats().InFlight)
	mu.Unlock()
	assert.Equal(t, codes.Unavailable, status.Code(check(c, "ok")), "Check is full")
	_, err := c.List(context.Background(), &healthpb.HealthListRequest{})
	assert.NoError(t, err, "List has slots of its own")
	for range 2 {
		assert.Equal(t, codes.DeadlineExceeded, status.Code(<-slow))
	}
	assert.Len(t, methods.Policies(), 2)
}

// A stream's policy covers only its opening: a stream opened under a 10 ms
// timeout runs on with the caller's ctx and gets an update 50 ms later.
func TestStreamOutlivesItsOpeningPolicy(t *testing.T) {
	open := timeout.MustNew(timeout.Config{Name: "open", Duration: 10 * time.Millisecond})
	c := serve(t, &health{}, nil, grpc.WithStreamInterceptor(must(watertightgrpc.StreamClientInterceptor(open))))
	stream, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{Service: "later"})
	require.NoError(t, err)
	resp, err := stream.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	_, err = stream.Recv()
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, uint64(0), open.Stats().Exceeded, "the opening was in time; the stream is the caller's")
}

func TestBadInput(t *testing.T) {
	var tm *timeout.Timeout
	_, err := watertightgrpc.UnaryClientInterceptor(tm)
	assert.EqualError(t, err, "watertightgrpc: UnaryClientInterceptor: policy is a nil *timeout.Timeout")
	_, err = watertightgrpc.StreamServerInterceptor(nil)
	assert.EqualError(t, err, "watertightgrpc: StreamServerInterceptor: policy is nil")
	_, err = watertightgrpc.UnaryServerInterceptor(watertight.Chain(), nil)
	assert.EqualError(t, err, "watertightgrpc: UnaryServerInterceptor: an option is nil")
	_, err = watertightgrpc.UnaryServerInterceptor(watertight.Chain(), watertightgrpc.WithRejectCode(codes.Internal))
	assert.EqualError(t, err, "watertightgrpc: WithRejectCode: must be Unavailable or ResourceExhausted, got Internal")
	_, err = watertightgrpc.PerMethod(nil)
	assert.EqualError(t, err, "watertightgrpc: PerMethod: factory is nil")

	// A nil request reaches the handler (and the codec) as it is: no panic
	// of ours.
	c := serve(t, &health{}, []grpc.ServerOption{grpc.UnaryInterceptor(must(watertightgrpc.UnaryServerInterceptor(watertight.Chain())))},
		grpc.WithUnaryInterceptor(must(watertightgrpc.UnaryClientInterceptor(watertight.Chain()))))
	_, err = c.Check(context.Background(), nil)
	assert.NoError(t, err)
}
