package breaker

import (
	"context"
	"log/slog"
)

// LogStateChanges returns an OnStateChange func that logs every transition
// to logger: at Warn when the circuit opens, at Info otherwise, with the
// attributes name, from, to and reason, and retry_after (the new open
// period's length) when it opens. Chain it with your own callback if you
// have one. A breaker logs nothing unless you set it.
func LogStateChanges(logger *slog.Logger) func(StateChange) {
	return func(c StateChange) {
		level, msg := slog.LevelInfo, "breaker: state change"
		attrs := []slog.Attr{
			slog.String("name", c.Name),
			slog.String("from", c.From.String()),
			slog.String("to", c.To.String()),
			slog.String("reason", string(c.Reason)),
		}
		if c.To == Open {
			level, msg = slog.LevelWarn, "breaker: open"
			if c.OpenPeriod > 0 {
				attrs = append(attrs, slog.Duration("retry_after", c.OpenPeriod))
			}
		}
		logger.LogAttrs(context.Background(), level, msg, attrs...)
	}
}
