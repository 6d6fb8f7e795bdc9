package ledger_test

import (
	"context"
	"fmt"
	"time"

	"github.com/watertight-go/watertight/ledger"
)

// A request's breakdown: where its time went, by dependency. Gates record
// these entries themselves; here they are written out.
func Example() {
	ctx, l := ledger.Start(context.Background())
	ledger.Record(ctx, ledger.Entry{Name: "db", Kind: ledger.Wait, Start: 0, Duration: 7900 * time.Millisecond})
	ledger.Record(ctx, ledger.Entry{Name: "payments", Kind: ledger.Attempt, Start: 7900 * time.Millisecond, Duration: 100 * time.Millisecond, Outcome: "timeout"})
	ledger.Record(ctx, ledger.Entry{Name: "payments", Kind: ledger.Backoff, Start: 8000 * time.Millisecond, Duration: 20 * time.Millisecond})
	ledger.Record(ctx, ledger.Entry{Name: "payments", Kind: ledger.Attempt, Start: 8020 * time.Millisecond, Duration: 50 * time.Millisecond})
	for _, t := range l.Totals() {
		fmt.Printf("%-9s %-8s %dx %v\n", t.Name, t.Kind, t.Count, t.Duration)
	}
	// Output:
	// db        wait     1x 7.9s
	// payments  attempt  2x 150ms
	// payments  backoff  1x 20ms
}

// The Server-Timing header value of a breakdown, which browsers' developer
// tools show beside the request.
func ExampleLedger_ServerTiming() {
	ctx, l := ledger.Start(context.Background())
	ledger.Record(ctx, ledger.Entry{Name: "db", Kind: ledger.Wait, Duration: 30 * time.Millisecond})
	ledger.Record(ctx, ledger.Entry{Name: "payments", Kind: ledger.Attempt, Duration: 100 * time.Millisecond, Outcome: "timeout"})
	ledger.Record(ctx, ledger.Entry{Name: "payments", Kind: ledger.Attempt, Duration: 50 * time.Millisecond})
	fmt.Println(l.ServerTiming())
	// Output:
	// db.wait;dur=30.0;desc="db: 1 wait", payments.attempt;dur=150.0;desc="payments: 2 attempts, 1 not ok"
}
