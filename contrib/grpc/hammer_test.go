package watertightgrpc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/budget"
	watertightgrpc "github.com/watertight-go/watertight/contrib/grpc"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// The policies that run attempts at once (a hedge), one after another (a
// retry) or leave one running (an abandoning timeout), hammered through
// the unary client interceptor on real loopback, with protobuf replies and
// with the replies of another codec (JSON into a plain struct): every
// caller reads its own call's reply, and no attempt writes a reply that
// another reads (-race). On real time, not in a synctest bubble: the
// goroutines that hedges start and end by the thousand make the race
// detector's runtime crash now and then in a bubble (golang/go#78156).

// echo answers Check after a random delay of up to 2 ms, with Unavailable
// one time in three, and otherwise SERVING for a service that names
// itself "serving-…" and NOT_SERVING for the rest, so a caller can tell
// its reply from another call's.
type echo struct {
	healthpb.UnimplementedHealthServer
	mu    sync.Mutex
	rng   *rand.Rand
	calls map[string]int
}

func (e *echo) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	e.mu.Lock()
	e.calls[req.GetService()]++
	wait := time.Duration(e.rng.IntN(2000)) * time.Microsecond
	fail := e.rng.IntN(3) == 0
	e.mu.Unlock()
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if fail {
		return nil, status.Error(codes.Unavailable, "busy")
	}
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if strings.HasPrefix(req.GetService(), "serving-") {
		st = healthpb.HealthCheckResponse_SERVING
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

// jsonCodec is a codec other than protobuf, whose replies are plain
// structs.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (jsonCodec) Name() string                       { return "json" }

type plainRequest struct {
	Service string `json:"service"`
}

type plainReply struct {
	Status int `json:"status"`
}

func hammerClient(t *testing.T, name string, p watertight.Policy, maxAttempts int, plain bool) {
	t.Run(name, func(t *testing.T) {
		e := &echo{rng: rand.New(rand.NewPCG(uint64(len(name)), 1)), calls: map[string]int{}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		var serverOpts []grpc.ServerOption
		if plain {
			serverOpts = append(serverOpts, grpc.ForceServerCodec(jsonCodec{}))
		}
		srv := grpc.NewServer(serverOpts...)
		healthpb.RegisterHealthServer(srv, e)
		go func() { _ = srv.Serve(ln) }()
		defer srv.Stop()
		conn, err := grpc.NewClient(ln.Addr().String(),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithUnaryInterceptor(must(watertightgrpc.UnaryClientInterceptor(p))))
		require.NoError(t, err)
		defer conn.Close()
		client := healthpb.NewHealthClient(conn)

		var wg sync.WaitGroup
		var answered, failed atomic.Int64
		for g := range 4 {
			wg.Go(func() {
				for i := range 100 {
					service := fmt.Sprintf("other-%d-%d", g, i)
					want := int(healthpb.HealthCheckResponse_NOT_SERVING)
					if i%2 == 0 {
						service = fmt.Sprintf("serving-%d-%d", g, i)
						want = int(healthpb.HealthCheckResponse_SERVING)
					}
					var got int
					var err error
					if plain {
						var reply plainReply
						err = conn.Invoke(context.Background(), healthpb.Health_Check_FullMethodName, &plainRequest{Service: service}, &reply, grpc.ForceCodec(jsonCodec{}))
						got = reply.Status
					} else {
						var resp *healthpb.HealthCheckResponse
						resp, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
						got = int(resp.GetStatus())
					}
					if err != nil {
						failed.Add(1)
						continue
					}
					answered.Add(1)
					if got != want {
						t.Errorf("call %s read status %d, not its own %d", service, got, want)
					}
				}
			})
		}
		wg.Wait()
		e.mu.Lock()
		for service, n := range e.calls {
			if n > maxAttempts {
				t.Errorf("call %s was made %d times, at most %d allowed", service, n, maxAttempts)
			}
		}
		e.mu.Unlock()
		assert.Positive(t, answered.Load())
		t.Logf("%s: %d answered, %d failed", name, answered.Load(), failed.Load())
	})
}

func TestConcurrentAttemptsThroughTheClientInterceptor(t *testing.T) {
	big := func() *budget.Budget { return budget.MustNew(budget.Config{Ratio: 10, MinPerSecond: 1000}) }
	for _, plain := range []bool{false, true} {
		codec := "protobuf"
		if plain {
			codec = "json"
		}
		hammerClient(t, codec+"/hedge", hedge.MustNew(hedge.Config{Delay: time.Millisecond, MaxHedges: 2, Budget: big()}), 3, plain)
		hammerClient(t, codec+"/retry", retry.MustNew(retry.Config{
			MaxAttempts: 3, Budget: big(),
			Backoff: func() backoff.BackOff { return &backoff.ZeroBackOff{} },
		}), 3, plain)
		hammerClient(t, codec+"/hedge of abandoning attempts", watertight.Chain(
			hedge.MustNew(hedge.Config{Delay: time.Millisecond, MaxHedges: 1, Budget: big()}),
			timeout.MustNew(timeout.Config{Duration: 1500 * time.Microsecond, Abandon: true}),
		), 2, plain)
	}
}
