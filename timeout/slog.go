package timeout

import (
	"context"
	"log/slog"
)

// LogLate returns an OnLate func that logs every abandoned call to logger
// when it finally ends: at Error with the stack if it panicked or called
// runtime.Goexit, at Warn with its error if it failed, at Info if it
// succeeded late; with the attributes name and elapsed. Without OnLate,
// only panics and Goexits of abandoned calls are logged (to slog's
// default logger).
func LogLate(logger *slog.Logger) func(Late) {
	return func(l Late) {
		attrs := []slog.Attr{slog.String("name", l.Name), slog.Duration("elapsed", l.Elapsed)}
		switch {
		case l.Panic != nil || l.Goexit:
			attrs = append(attrs, slog.Any("panic", l.Panic), slog.Bool("goexit", l.Goexit), slog.String("stack", string(l.Stack)))
			logger.LogAttrs(context.Background(), slog.LevelError, "timeout: abandoned call panicked", attrs...)
		case l.Err != nil:
			attrs = append(attrs, slog.String("error", l.Err.Error()))
			logger.LogAttrs(context.Background(), slog.LevelWarn, "timeout: abandoned call failed", attrs...)
		default:
			logger.LogAttrs(context.Background(), slog.LevelInfo, "timeout: abandoned call succeeded late", attrs...)
		}
	}
}
