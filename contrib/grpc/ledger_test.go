package watertightgrpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/retry"

	watertightgrpc "github.com/watertight-go/watertight/contrib/grpc"
)

// Every RPC attempt is in the request's ledger, named by its method, with
// the status it ended with when not OK.
func TestClientAttemptsInTheLedger(t *testing.T) {
	r := retry.MustNew(retry.Config{Name: "health", Budget: budget.MustNew(budget.Config{Ratio: 10}),
		Backoff: func() backoff.BackOff { return backoff.NewConstantBackOff(time.Millisecond) }})
	c := serve(t, &health{}, nil, grpc.WithUnaryInterceptor(must(watertightgrpc.UnaryClientInterceptor(r))))
	ctx, l := ledger.Start(context.Background())
	_, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: "flaky"})
	require.NoError(t, err)
	var attempts []ledger.Entry
	for _, e := range l.Entries() {
		if e.Name == "grpc.health.v1.Health/Check" {
			attempts = append(attempts, e)
		}
	}
	require.Len(t, attempts, 2)
	assert.Equal(t, ledger.Attempt, attempts[0].Kind)
	assert.Equal(t, "Unavailable", attempts[0].Outcome)
	assert.Empty(t, attempts[1].Outcome)
	kinds := map[ledger.Kind]int{}
	for _, tot := range l.Totals() {
		if tot.Name == "health" {
			kinds[tot.Kind] = tot.Count
		}
	}
	assert.Equal(t, map[ledger.Kind]int{ledger.Backoff: 1, ledger.Attempt: 1}, kinds, "the retry's backoff and its second attempt")
}
