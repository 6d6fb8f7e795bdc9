package breaker_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/watertight-go/watertight/breaker"
)

func TestLogStateChanges(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	b := breaker.MustNew(breaker.Config{Name: "db", WindowCalls: 1, OpenBackoff: steady(), OnStateChange: breaker.LogStateChanges(logger)})
	_ = b.Do(context.Background(), func(context.Context) error { return errDown })
	b.Reset()
	assert.Equal(t, `level=WARN msg="breaker: open" name=db from=closed to=open reason="failure rate" retry_after=1s
level=INFO msg="breaker: state change" name=db from=open to=closed reason=reset
`, buf.String())
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
