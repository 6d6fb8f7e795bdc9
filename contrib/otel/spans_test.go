package watertightotel_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/ledger"

	watertightotel "github.com/watertight-go/watertight/contrib/otel"
)

// Every entry a gate records becomes an event on the span of the ctx it
// was recorded in: here a bulkhead's wait, on the request's span.
func TestSpanEvents(t *testing.T) {
	synctest.Test(t, spanEvents)
}

func spanEvents(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())

	ctx, span := tp.Tracer("test").Start(context.Background(), "GET /checkout")
	ctx, l := ledger.Start(ctx, watertightotel.SpanEvents())
	b := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 1, MaxQueue: 1})
	release, err := b.Acquire(context.Background())
	require.NoError(t, err)
	go func() { <-time.After(10 * time.Millisecond); release() }()
	require.NoError(t, b.Do(ctx, func(context.Context) error { return nil }))
	ledger.Record(ctx, ledger.Entry{Name: "payments", Kind: ledger.Attempt, Start: 12 * time.Millisecond, Duration: 5 * time.Millisecond, Outcome: "503"})
	span.End()

	spans := rec.Ended()
	require.Len(t, spans, 1)
	events := spans[0].Events()
	require.Len(t, events, 2)
	assert.Equal(t, "watertight.wait", events[0].Name)
	attrs := attribute.NewSet(events[0].Attributes...)
	name, _ := attrs.Value("watertight.name")
	assert.Equal(t, "db", name.AsString())
	ms, _ := attrs.Value("watertight.duration_ms")
	assert.Equal(t, 10.0, ms.AsFloat64())
	assert.False(t, attrs.HasValue("watertight.outcome"), "it went as meant")
	assert.Equal(t, "watertight.attempt", events[1].Name)
	attrs = attribute.NewSet(events[1].Attributes...)
	outcome, _ := attrs.Value("watertight.outcome")
	assert.Equal(t, "503", outcome.AsString())
	assert.Equal(t, l.Started().Add(12*time.Millisecond), events[1].Time, "at the moment the entry started")
}
