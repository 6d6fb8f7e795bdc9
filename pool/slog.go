package pool

import (
	"context"
	"log/slog"
)

// LogPanics returns an OnPanic func that logs to logger instead of slog's
// default logger, at Error, with the attributes name, panic, goexit and
// stack.
func LogPanics(logger *slog.Logger) func(PanicEvent) {
	return func(e PanicEvent) { logPanicTo(logger, e) }
}

func logPanic(e PanicEvent) { logPanicTo(slog.Default(), e) }

func logPanicTo(logger *slog.Logger, e PanicEvent) {
	msg := "pool: task panicked"
	if e.Goexit {
		msg = "pool: task called runtime.Goexit"
	}
	logger.LogAttrs(context.Background(), slog.LevelError, msg,
		slog.String("name", e.Name), slog.Any("panic", e.Value), slog.Bool("goexit", e.Goexit), slog.String("stack", string(e.Stack)))
}
