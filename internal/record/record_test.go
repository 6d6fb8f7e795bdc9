package record_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/ledger"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSpan(t *testing.T) {
	assert.Zero(t, record.Now(context.Background()), "no ledger: no clock read")
	record.Span(context.Background(), "db", ledger.Wait, 1, 2, "") // no ledger: nothing

	ctx, l := ledger.Start(context.Background())
	start := record.Now(ctx)
	assert.NotZero(t, start)
	record.Span(ctx, "db", ledger.Wait, start, start+int64(30*time.Millisecond), "")
	record.Span(ctx, "db", ledger.Refused, start, 0, "full")
	e := l.Entries()
	assert.Len(t, e, 2)
	assert.Equal(t, 30*time.Millisecond, e[0].Duration)
	assert.GreaterOrEqual(t, e[0].Start, time.Duration(0))
	assert.Less(t, e[0].Start, time.Second)
	assert.Equal(t, "full", e[1].Outcome)
	assert.GreaterOrEqual(t, monotime.Time(monotime.Now()).Sub(l.Started()), e[1].Start+e[1].Duration)
}

type rejected struct{}

func (rejected) Error() string        { return "full" }
func (rejected) Is(target error) bool { return target == watertight.ErrRejected }

func TestOutcome(t *testing.T) {
	for err, want := range map[error]string{
		nil:                      "",
		context.DeadlineExceeded: "timeout",
		fmt.Errorf("call: %w", context.DeadlineExceeded): "timeout",
		rejected{}:         "refused",
		context.Canceled:   "canceled",
		errors.New("boom"): "failed",
	} {
		assert.Equal(t, want, record.Outcome(err), "%v", err)
	}
}
