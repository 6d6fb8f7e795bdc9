package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunPrintsTheMetricsOfBothSides(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	assert.Contains(t, out.String(), `watertight_bulkhead_acquired_total{name="health"} 10`)
	assert.Contains(t, out.String(), `watertight_bulkhead_acquired_total{name="server /grpc.health.v1.Health/Check"} 10`)
	assert.Contains(t, out.String(), `watertight_retry_calls_total{name="health"} 10`)
	assert.Contains(t, out.String(), `watertight_breaker_state{name="health",state="closed"} 1`)
}
