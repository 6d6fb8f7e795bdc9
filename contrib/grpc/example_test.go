package watertightgrpc_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"

	watertightgrpc "github.com/watertight-go/watertight/contrib/grpc"
)

// A client with the recommended chain and a server with a bulkhead of its
// own: the server's Unavailable comes back to the caller unchanged, and it
// is no refusal of the client's.
func ExampleUnaryClientInterceptor() {
	ln := bufconn.Listen(1 << 16)
	serverPolicy := bulkhead.MustNew(bulkhead.Config{Name: "health-server", MaxConcurrent: 100})
	unaryServer, err := watertightgrpc.UnaryServerInterceptor(serverPolicy)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(unaryServer))
	healthpb.RegisterHealthServer(srv, &health{})
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	policy := watertight.Chain(
		timeout.MustNew(timeout.Config{Name: "health", Duration: time.Second}),
		retry.MustNew(retry.Config{Name: "health"}),
		bulkhead.MustNew(bulkhead.Config{Name: "health", MaxConcurrent: 10}),
		timeout.MustNew(timeout.Config{Name: "health-attempt", Duration: 200 * time.Millisecond}),
	)
	unaryClient, err := watertightgrpc.UnaryClientInterceptor(policy)
	if err != nil {
		fmt.Println(err)
		return
	}
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(unaryClient))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "flaky"})
	fmt.Println(resp.GetStatus(), err)
	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "notfound"})
	fmt.Println(status.Code(err) == codes.NotFound)
	// Output:
	// SERVING <nil>
	// true
}
