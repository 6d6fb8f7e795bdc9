package watertightgrpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	watertightgrpc "github.com/watertight-go/watertight/contrib/grpc"
	"github.com/watertight-go/watertight/timeout"
)

// The caller's error keeps the server's pushback: watertight.RetryAfter
// finds it (an outer retry waits for it), and status.Code still gives the
// server's status.
func TestClientErrorKeepsThePushback(t *testing.T) {
	b := breaker.MustNew(breaker.Config{})
	c := serve(t, &health{}, nil, grpc.WithUnaryInterceptor(must(watertightgrpc.UnaryClientInterceptor(b))))
	for service, want := range map[string]time.Duration{"pushback:-5": -5 * time.Millisecond, "pushback:-1": -time.Millisecond} {
		err := check(c, service)
		assert.Equal(t, codes.Unavailable, status.Code(err))
		d, ok := watertight.RetryAfter(err)
		require.True(t, ok, "%s: the pushback reaches the caller", service)
		assert.Equal(t, want, d)
		st, ok := status.FromError(err)
		require.True(t, ok)
		assert.Equal(t, "busy", st.Message())
	}
	c = serve(t, &health{}, nil, grpc.WithUnaryInterceptor(must(watertightgrpc.UnaryClientInterceptor(b))))
	err := check(c, "pushback:1500") // the first call of a server with a positive pushback fails
	d, ok := watertight.RetryAfter(err)
	require.True(t, ok)
	assert.Equal(t, 1500*time.Millisecond, d)
	_, ok = watertight.RetryAfter(check(c, "unavailable"))
	assert.False(t, ok, "no pushback, no hint")
}

// A handler that returns a plain error once the server's deadline fired
// answers DeadlineExceeded, not Unknown.
func TestServerPlainErrorAtItsDeadlineIsDeadlineExceeded(t *testing.T) {
	c := serve(t, &health{}, []grpc.ServerOption{grpc.UnaryInterceptor(must(watertightgrpc.UnaryServerInterceptor(
		timeout.MustNew(timeout.Config{Duration: 20 * time.Millisecond}))))})
	assert.Equal(t, codes.DeadlineExceeded, status.Code(check(c, "slowplain")))
}

// refuseWith is a server policy that refuses with a hint.
type refuseWith time.Duration

func (r refuseWith) Do(context.Context, func(context.Context) error) error { return hinted(r) }

type hinted time.Duration

func (h hinted) Error() string                 { return "refused" }
func (h hinted) Is(err error) bool             { return err == watertight.ErrRejected }
func (h hinted) RetryAfterHint() time.Duration { return time.Duration(h) }

// The pushback a server sends: rounded up to whole milliseconds; negative,
// however small, stays negative (do not retry); and one that would end
// past the call's deadline is "do not retry", so that a client that
// honours it fails fast instead of waiting out its deadline.
func TestServerPushbackValues(t *testing.T) {
	for _, tc := range []struct {
		hint     time.Duration
		deadline time.Duration
		want     string
	}{
		{hint: 1500 * time.Microsecond, want: "2"},
		{hint: 30 * time.Second, want: "30000"},
		{hint: -500 * time.Microsecond, want: "-1"},
		{hint: -time.Hour, want: "-1"},
		{hint: 30 * time.Second, deadline: time.Second, want: "-1"},
		{hint: 100 * time.Millisecond, deadline: 10 * time.Second, want: "100"},
	} {
		c := serve(t, &health{}, []grpc.ServerOption{grpc.UnaryInterceptor(must(watertightgrpc.UnaryServerInterceptor(refuseWith(tc.hint))))})
		ctx := context.Background()
		if tc.deadline > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tc.deadline)
			defer cancel()
		}
		var trailer metadata.MD
		_, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: "ok"}, grpc.Trailer(&trailer))
		assert.Equal(t, codes.Unavailable, status.Code(err))
		assert.Equal(t, []string{tc.want}, trailer.Get(watertightgrpc.PushbackKey), "hint %v, deadline %v", tc.hint, tc.deadline)
	}
}
