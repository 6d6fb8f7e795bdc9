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
	do := func(to *timeout.Timeout) { _ = to.Do(context.Background(), nop) }
	benchtest.SerialAndParallel(b, "watertight", timeout.MustNew(timeout.Config{Duration: time.Second}), do)
	benchtest.SerialAndParallel(b, "watertight-abandon", timeout.MustNew(timeout.Config{Duration: time.Second, Abandon: true}), do)
	benchtest.SerialAndParallel(b, "context-WithTimeoutCause", struct{}{}, func(struct{}) {
		tctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, errCause)
		_ = nop(tctx)
		cancel()
	})
	benchtest.SerialAndParallel(b, "failsafe-go", failsafe.With[any](fstimeout.New[any](time.Second)), runFailsafe)
	benchtest.SerialAndParallel(b, "eapache", deadline.New(time.Second), func(ea *deadline.Deadline) {
		_ = ea.Run(func(<-chan struct{}) error { return nil })
	})
}
