// Package record is how watertight's gates write into a request's
// ledger: with the monotonic readings they take already, and without a
// clock read or anything else when the ctx carries no ledger.Ledger.
package record

import (
	"context"
	"errors"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/ledger"
)

// Span records, in the Ledger ctx carries, an entry of name and kind from
// start to end, monotime readings; an end of 0 is now, read only when
// there is a Ledger. Without one it costs one ctx.Value.
func Span(ctx context.Context, name string, kind ledger.Kind, start, end int64, outcome string) {
	l := ledger.From(ctx)
	if l == nil {
		return
	}
	if end == 0 {
		end = monotime.Now()
	}
	l.RecordIn(ctx, ledger.Entry{Name: name, Kind: kind, Start: monotime.Time(start).Sub(l.Started()), Duration: monotime.Time(end).Sub(monotime.Time(start)), Outcome: outcome})
}

// Now returns monotime.Now() if ctx carries a Ledger, and 0 (no clock
// read) if not: the start of an entry that only a Ledger needs.
func Now(ctx context.Context) int64 {
	if ledger.From(ctx) == nil {
		return 0
	}
	return monotime.Now()
}

// Outcome is the ledger's word for an attempt's error: "" for nil,
// "timeout" for a deadline, "refused" for a refusal by a policy inside,
// "canceled" for a cancellation, "failed" for any other.
func Outcome(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, watertight.ErrRejected):
		return "refused"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "failed"
}
