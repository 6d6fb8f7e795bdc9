package main

import (
	"bytes"
	"cmp"
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/watertight-go/watertight/dashboard"
	"github.com/watertight-go/watertight/ledger"
)

// slowAfter is when a request of the demo is slow enough to log, with
// where its time went.
const slowAfter = 150 * time.Millisecond

// breakdowns keeps what the demo shows of the ledgers: the slow-request
// log line of the slowest request of each endpoint (the Handler's own
// logging, through slowestOfEach), and the breakdown of the first request
// an open breaker refused. It is the Handler's ledger Sink, and passes
// every request on to the dashboard, when there is one.
type breakdowns struct {
	mode      string
	dashboard *dashboard.Dashboard

	mu      sync.Mutex
	lines   bytes.Buffer // the refused request's line
	refused bool
	slowest map[string]slog.Record // by path
}

// logger is the Handler's logger of slow requests: the slowest of each
// path is kept, and written by Lines.
func (b *breakdowns) logger() *slog.Logger {
	return slog.New(&slowestOfEach{b: b})
}

// Offer keeps the first request an open breaker refused, and offers every
// request to the dashboard.
func (b *breakdowns) Offer(r ledger.Request) {
	if b.dashboard != nil {
		b.dashboard.Offer(r)
	}
	for _, e := range r.Ledger.Entries() {
		if e.Kind != ledger.Refused || e.Outcome != "open" {
			continue
		}
		b.mu.Lock()
		first := !b.refused
		b.refused = true
		b.mu.Unlock()
		if first {
			slog.New(slog.NewTextHandler(&lockedWriter{b: b}, &slog.HandlerOptions{ReplaceAttr: noTime})).Info("refused request",
				"run", b.mode, "method", r.Method, "path", r.Path, "status", r.Status, "elapsed", r.Elapsed.Round(time.Microsecond), "ledger", r.Ledger)
		}
		return
	}
}

// Lines returns the slow-request lines, slowest endpoint first, then the
// refused request's.
func (b *breakdowns) Lines() []string {
	b.mu.Lock()
	slowest := slices.SortedFunc(maps.Values(b.slowest), func(x, y slog.Record) int { return -cmp.Compare(elapsedOf(x), elapsedOf(y)) })
	refused := b.lines.String()
	b.mu.Unlock()
	var out bytes.Buffer
	h := slog.NewTextHandler(&out, &slog.HandlerOptions{ReplaceAttr: noTime})
	for _, r := range slowest {
		r2 := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		r2.AddAttrs(slog.String("run", b.mode))
		r.Attrs(func(a slog.Attr) bool { r2.AddAttrs(a); return true })
		_ = h.Handle(context.Background(), r2)
	}
	out.WriteString(refused)
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

// slowestOfEach keeps the slowest record of each path, so that the demo
// prints a few lines, not thousands.
type slowestOfEach struct{ b *breakdowns }

func (s *slowestOfEach) Enabled(context.Context, slog.Level) bool { return true }
func (s *slowestOfEach) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *slowestOfEach) WithGroup(string) slog.Handler            { return s }

func (s *slowestOfEach) Handle(_ context.Context, r slog.Record) error {
	var path string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "path" {
			path = a.Value.String()
		}
		return true
	})
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.slowest == nil {
		s.b.slowest = map[string]slog.Record{}
	}
	if kept, ok := s.b.slowest[path]; !ok || elapsedOf(r) > elapsedOf(kept) {
		s.b.slowest[path] = r.Clone()
	}
	return nil
}

// elapsedOf is a slow-request record's elapsed time.
func elapsedOf(r slog.Record) (d time.Duration) {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "elapsed" {
			d = a.Value.Duration()
			return false
		}
		return true
	})
	return d
}

// lockedWriter writes to b.lines under b.mu.
type lockedWriter struct{ b *breakdowns }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	return w.b.lines.Write(p)
}

func noTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	if a.Value.Kind() == slog.KindDuration {
		return slog.Duration(a.Key, roundLedger(a.Value.Duration()))
	}
	return a
}

// roundLedger keeps three significant digits of a duration, as the table
// does.
func roundLedger(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
