package timeout_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/watertight-go/watertight/timeout"
)

func TestLogLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "stack" {
				return slog.Attr{}
			}
			return a
		}}))
		to := timeout.MustNew(timeout.Config{Name: "geo", Duration: time.Second, Abandon: true, OnLate: timeout.LogLate(logger)})
		for _, fn := range []func(context.Context) error{
			func(context.Context) error { <-time.After(2 * time.Second); return nil },
			func(context.Context) error { <-time.After(2 * time.Second); return errors.New("refused") },
			func(context.Context) error { <-time.After(2 * time.Second); panic("nil map") },
		} {
			assert.ErrorIs(t, to.Do(context.Background(), fn), timeout.ErrExceeded)
			synctest.Wait()
			<-time.After(time.Second)
			synctest.Wait()
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		assert.Equal(t, []string{
			`level=INFO msg="timeout: abandoned call succeeded late" name=geo elapsed=2s`,
			`level=WARN msg="timeout: abandoned call failed" name=geo elapsed=2s error=refused`,
			`level=ERROR msg="timeout: abandoned call panicked" name=geo elapsed=2s panic="nil map" goexit=false`,
		}, lines)
	})
}
