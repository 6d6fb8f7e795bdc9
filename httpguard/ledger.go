package httpguard

import (
	"context"

	"log/slog"
	"net/http"
	"time"

	"github.com/watertight-go/watertight/internal/durations"
	"github.com/watertight-go/watertight/ledger"
)

// LedgerConfig configures WithLedger. The zero value keeps a ledger per
// request and does nothing with it but offer it to no one: set what it is
// for.
type LedgerConfig struct {
	// ServerTiming, if set, sends each request's breakdown to its client
	// as a Server-Timing header (https://www.w3.org/TR/server-timing/),
	// which browsers' developer tools show beside the request: what the
	// ledger holds when the handler first writes (or when the Handler
	// answers 503 or 504 itself), and "total", the time until then. Off
	// by default: it names your dependencies to whoever gets the
	// response. What is recorded after the header went out is in the log
	// and the Sink.
	ServerTiming bool

	// SlowAfter logs, once, every request that took at least this long:
	// its method, path, status, time and breakdown, through Logger with
	// the request's ctx (so that a slog handler that adds trace or request
	// IDs from the ctx adds them). Zero: no request is logged. Negative,
	// or under 1 ms (a bare number is nanoseconds), is an error from
	// Handler.
	SlowAfter time.Duration

	// Logger logs the slow requests, at slog.LevelWarn. Nil:
	// slog.Default() at the time of each request.
	Logger *slog.Logger

	// Sink is offered every request as it finishes, with its ledger: a
	// *dashboard.Dashboard keeps the slowest of the last minute. Nil:
	// none.
	Sink ledger.Sink

	// Options are passed to ledger.Start for each request: a hook that
	// turns entries into span events (contrib/otel), more entries.
	Options []ledger.Option
}

// WithLedger gives every request Handler serves a ledger.Ledger, in the
// ctx its handler and its policy run with: every watertight gate the
// request passes through, outbound calls included, records into it what
// it did to the request (see package ledger). When the request is
// answered, the Ledger is finished and, as cfg says, sent as
// Server-Timing, logged when slow, and offered to a Sink.
//
// A request costs two more allocations, about 1.4 KiB in all (the Ledger
// with its ctx, and the request that carries them; BenchmarkHandler
// measures it), and two clock reads; a request that records nothing and is not
// slow costs nothing else.
func WithLedger(cfg LedgerConfig) HandlerOption {
	return func(h *handler) {
		if err := durations.Check("httpguard", "LedgerConfig.SlowAfter", cfg.SlowAfter); err != nil {
			h.err = err
			return
		}
		h.ledger = &cfg
	}
}

// finishLedger finishes the request's ledger and does with it what the
// config says.
func (h *handler) finishLedger(ctx context.Context, r *http.Request, l *ledger.Ledger, status int) {
	elapsed := l.Finish()
	cfg := h.ledger
	if cfg.SlowAfter > 0 && elapsed >= cfg.SlowAfter {
		logger := cfg.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.LogAttrs(ctx, slog.LevelWarn, "slow request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
			slog.Duration("elapsed", elapsed), slog.Any("ledger", l))
	}
	if cfg.Sink != nil {
		cfg.Sink.Offer(ledger.Request{Method: r.Method, Path: r.URL.Path, Status: status, Start: l.Started(), Elapsed: elapsed, Ledger: l})
	}
}

// setServerTiming sets h's Server-Timing to l's breakdown and the time
// since it started.
func setServerTiming(h http.Header, l *ledger.Ledger) {
	b := l.AppendServerTiming(make([]byte, 0, 256))
	b = ledger.AppendMetric(b, "total", l.Elapsed())
	h.Set("Server-Timing", string(b))
}

// statusWriter remembers the status written through it: the Handler's own
// answer's, for the ledger.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
