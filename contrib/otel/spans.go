package watertightotel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/watertight-go/watertight/ledger"
)

// SpanEvents is a ledger.Option that turns every entry of a request's
// ledger into an event on the span of the ctx it was recorded in: a
// trace then shows the bulkhead's wait, the retries and the backoff
// between them, where OpenTelemetry's own instrumentation leaves pool
// waits and retries out. The event is named "watertight.<kind>"
// ("watertight.wait"), at the moment the entry started, with the
// attributes watertight.name, watertight.kind, watertight.duration_ms and,
// when the entry did not go as meant, watertight.outcome. A ctx whose span
// is not recording costs one check.
//
//	httpguard.WithLedger(httpguard.LedgerConfig{Options: []ledger.Option{watertightotel.SpanEvents()}})
func SpanEvents() ledger.Option { return ledger.WithHook(spanEvent) }

func spanEvent(ctx context.Context, e ledger.Entry) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs,
		attribute.String("watertight.name", e.Name),
		attribute.String("watertight.kind", e.Kind.String()),
		attribute.Float64("watertight.duration_ms", float64(e.Duration)/1e6),
	)
	if e.Outcome != "" {
		attrs = append(attrs, attribute.String("watertight.outcome", e.Outcome))
	}
	opts := []trace.EventOption{trace.WithAttributes(attrs...)}
	if l := ledger.From(ctx); l != nil {
		opts = append(opts, trace.WithTimestamp(l.Started().Add(e.Start)))
	}
	span.AddEvent("watertight."+e.Kind.String(), opts...)
}
