// Command grpcmetrics shows watertight on gRPC with its metrics: a client
// and a server, both guarded by interceptors, and the Prometheus collector
// reading their policies beside them. It runs in one process, over an
// in-memory connection, and prints the metrics it collected.
//
//	go -C examples run ./grpcmetrics
package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	watertightgrpc "github.com/watertight-go/watertight/contrib/grpc"
	watertightprom "github.com/watertight-go/watertight/contrib/prometheus"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	// The server: every method gets a bulkhead of its own.
	methods, err := watertightgrpc.PerMethod(func(method string) (watertight.Policy, error) {
		return bulkhead.New(bulkhead.Config{Name: "server " + method, MaxConcurrent: 16})
	})
	if err != nil {
		return err
	}
	unaryServer, err := methods.UnaryServerInterceptor()
	if err != nil {
		return err
	}
	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.UnaryInterceptor(unaryServer))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	// The client: the recommended chain around every call.
	client := watertight.Chain(
		timeout.MustNew(timeout.Config{Name: "health", Duration: time.Second}),
		retry.MustNew(retry.Config{Name: "health"}),
		breaker.MustNew(breaker.Config{Name: "health"}),
		bulkhead.MustNew(bulkhead.Config{Name: "health", MaxConcurrent: 8}),
		timeout.MustNew(timeout.Config{Name: "health-attempt", Duration: 200 * time.Millisecond}),
	)
	unaryClient, err := watertightgrpc.UnaryClientInterceptor(client)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(unaryClient))
	if err != nil {
		return err
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for range 10 {
		if _, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			return err
		}
	}

	// The collector reads the client's chain and the server's per-method
	// policies, as a /metrics scrape would.
	collector := watertightprom.NewCollector()
	if err := collector.Add(client); err != nil {
		return err
	}
	for _, p := range methods.Policies() {
		if err := collector.Add(p); err != nil {
			return err
		}
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collector); err != nil {
		return err
	}
	families, err := reg.Gather()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, mf := range families {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			return err
		}
	}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		for _, name := range []string{"watertight_bulkhead_acquired_total", "watertight_retry_calls_total", "watertight_breaker_state", "watertight_timeout_calls_total"} {
			if strings.HasPrefix(line, name) && !strings.HasSuffix(line, " 0") {
				fmt.Fprintln(w, line)
			}
		}
	}
	return nil
}
