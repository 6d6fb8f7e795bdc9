package benchmarks_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/eapache/go-resiliency/deadline"
	"github.com/failsafe-go/failsafe-go"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"

	"github.com/watertight-go/watertight/internal/benchtest"
	"github.com/watertight-go/watertight/timeout"
)

var errCause = errors.New("deadline")

// A fast call under a one-second deadline.
func BenchmarkTimeout(b *testing.B) {
	ctx := context.Background()
	coop := timeout.MustNew(timeout.Config{Duration: time.Second})
	benchtest.SerialAndParallel(b, "watertight", func() { _ = coop.Do(ctx, nop) })
	abandon := timeout.MustNew(timeout.Config{Duration: time.Second, Abandon: true})
	benchtest.SerialAndParallel(b, "watertight-abandon", func() { _ = abandon.Do(ctx, nop) })
	benchtest.SerialAndParallel(b, "context-WithTimeoutCause", func() {
		tctx, cancel := context.WithTimeoutCause(ctx, time.Second, errCause)
		_ = nop(tctx)
		cancel()
	})
	fs := failsafe.With[any](fstimeout.New[any](time.Second))
	benchtest.SerialAndParallel(b, "failsafe-go", func() { _ = fs.Run(nopE) })
	ea := deadline.New(time.Second)
	benchtest.SerialAndParallel(b, "eapache", func() { _ = ea.Run(func(<-chan struct{}) error { return nil }) })
}
