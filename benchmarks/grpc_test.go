package benchmarks_test

import (
	"context"
	"net"
	"testing"

	"github.com/failsafe-go/failsafe-go/failsafegrpc"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/benchtest"

	watertightgrpc "github.com/watertight-go/watertight/contrib/grpc"
)

// healthClient is a client of a health server over an in-memory
// connection, through the given dial options.
func healthClient(b *testing.B, opts ...grpc.DialOption) healthpb.HealthClient {
	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(ln) }()
	conn, err := grpc.NewClient("passthrough:///bufnet", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close(); srv.Stop() })
	return healthpb.NewHealthClient(conn)
}

// A unary RPC over bufconn with each library's client interceptor around a
// policy that does nothing of its own (ours: an empty Chain; failsafe-go: a
// retry policy of one attempt), beside the RPC with no interceptor: the
// interceptors' own cost.
func BenchmarkGRPCUnaryClient(b *testing.B) {
	ours, err := watertightgrpc.UnaryClientInterceptor(watertight.Chain())
	if err != nil {
		b.Fatal(err)
	}
	req := &healthpb.HealthCheckRequest{}
	call := func(c healthpb.HealthClient) { _, _ = c.Check(context.Background(), req) }
	benchtest.SerialAndParallel(b, "watertight", healthClient(b, grpc.WithUnaryInterceptor(ours)), call)
	fs := failsafegrpc.NewUnaryClientInterceptor[any](retrypolicy.NewBuilder[any]().WithMaxAttempts(1).Build())
	benchtest.SerialAndParallel(b, "failsafe-go", healthClient(b, grpc.WithUnaryInterceptor(fs)), call)
	benchtest.SerialAndParallel(b, "floor=no-interceptor", healthClient(b), call)
}
