package retry

import (
	"context"
	"log/slog"
)

// LogRetries returns an OnRetry func that logs every retry to logger at
// Warn, with the attributes name, attempt, delay and error.
func LogRetries(logger *slog.Logger) func(Attempt) {
	return func(a Attempt) {
		logger.LogAttrs(context.Background(), slog.LevelWarn, "retry: retrying",
			slog.String("name", a.Name),
			slog.Int("attempt", a.Attempt),
			slog.Duration("delay", a.Delay),
			slog.String("error", a.Err.Error()))
	}
}
