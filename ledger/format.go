package ledger

import (
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"
)

// ServerTiming returns the breakdown as a W3C Server-Timing header value
// (https://www.w3.org/TR/server-timing/): a metric per Total, named
// "<name>.<kind>", with its summed duration in milliseconds and a
// description of what it holds. (httpguard's Handler adds "total", the
// request's own time.) A name that is not an HTTP token has every other
// character replaced by "_" in the metric name, and is given whole in the
// description, a quoted string; control characters are dropped. The
// value is empty for a nil Ledger.
//
//	db.wait;dur=30.0;desc="db: 1 wait", payments.attempt;dur=150.0;desc="payments: 2 attempts, 1 not ok"
//
// It shows the dependencies' names to whoever gets the response: send it
// to clients you trust (httpguard's Handler sends it only when asked).
func (l *Ledger) ServerTiming() string {
	if l == nil {
		return ""
	}
	return string(l.AppendServerTiming(nil))
}

// AppendServerTiming appends ServerTiming's value to b, for a caller that
// adds metrics of its own.
func (l *Ledger) AppendServerTiming(b []byte) []byte {
	if l == nil {
		return b
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if need := 96 * l.nTotals; cap(b)-len(b) < need {
		b = append(make([]byte, 0, len(b)+need), b...)
	}
	for i := range l.nTotals {
		t, name := &l.totals[i], l.names[i]
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendToken(b, name)
		if t.kind != 0 {
			b = append(b, '.')
			b = append(b, t.kind.String()...)
		}
		b = append(b, ";dur="...)
		b = appendMillis(b, t.duration)
		b = append(b, `;desc="`...)
		b = appendQuoted(b, name)
		b = append(b, ": "...)
		b = strconv.AppendInt(b, int64(t.count), 10)
		b = append(b, ' ')
		b = appendKind(b, t.kind, int(t.count))
		if t.outcomes > 0 {
			b = append(b, ", "...)
			b = strconv.AppendInt(b, int64(t.outcomes), 10)
			b = append(b, " not ok"...)
		}
		b = append(b, '"')
	}
	return b
}

// AppendMetric appends a Server-Timing metric of name (made a token as
// ServerTiming does) and duration d to b, after a separator if b holds one
// already: httpguard's "total".
func AppendMetric(b []byte, name string, d time.Duration) []byte {
	if len(b) > 0 {
		b = append(b, ", "...)
	}
	b = appendToken(b, name)
	b = append(b, ";dur="...)
	return appendMillis(b, d)
}

// appendKind appends kind's word, plural when n is not 1: "wait",
// "attempts", "entries".
func appendKind(b []byte, kind Kind, n int) []byte {
	if kind == 0 {
		if n == 1 {
			return append(b, "entry"...)
		}
		return append(b, "entries"...)
	}
	b = append(b, kind.String()...)
	if n != 1 {
		b = append(b, 's')
	}
	return b
}

// appendMillis appends d in milliseconds: one decimal, three under a
// millisecond.
func appendMillis(b []byte, d time.Duration) []byte {
	ms := float64(d) / float64(time.Millisecond)
	prec := 1
	if ms < 1 {
		prec = 3
	}
	return strconv.AppendFloat(b, ms, 'f', prec, 64)
}

// appendToken appends name as an HTTP token (RFC 9110): every character
// that is not a tchar becomes "_"; an empty name is "unnamed".
func appendToken(b []byte, name string) []byte {
	if name == "" {
		return append(b, "unnamed"...)
	}
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		if r < utf8.RuneSelf && isTokenChar(byte(r)) {
			b = append(b, byte(r))
		} else {
			b = append(b, '_')
		}
		i += size
	}
	return b
}

// isTokenChar reports whether c is a tchar of RFC 9110.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// appendQuoted appends s as the inside of an HTTP quoted-string: '"' and
// '\' escaped, control characters dropped (a header value may not hold
// them); other bytes, UTF-8 included, as they are.
func appendQuoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 && c != '\t', c == 0x7f:
		default:
			b = append(b, c)
		}
	}
	return b
}

// LogValue returns the breakdown as slog attributes: one group per Total,
// keyed "<name>.<kind>" as in ServerTiming, with its summed duration
// ("dur"), its count ("n", when more than one) and how many were not as
// meant ("not_ok", when any); then "dropped", when entries past the bound
// were counted in the totals only. It makes a Ledger a slog.LogValuer:
//
//	logger.Info("slow request", "ledger", l)
//	// ledger.db.wait.dur=30ms ledger.payments.attempt.dur=150ms ledger.payments.attempt.n=2 ...
func (l *Ledger) LogValue() slog.Value {
	if l == nil {
		return slog.GroupValue()
	}
	totals := l.Totals()
	dropped, _ := l.Dropped()
	attrs := make([]slog.Attr, 0, len(totals)+1)
	var key []byte
	for _, t := range totals {
		key = appendToken(key[:0], t.Name)
		if t.Kind != 0 {
			key = append(key, '.')
			key = append(key, t.Kind.String()...)
		}
		group := make([]slog.Attr, 1, 3)
		group[0] = slog.Duration("dur", t.Duration)
		if t.Count != 1 {
			group = append(group, slog.Int("n", t.Count))
		}
		if t.Outcomes > 0 {
			group = append(group, slog.Int("not_ok", t.Outcomes))
		}
		attrs = append(attrs, slog.Attr{Key: string(key), Value: slog.GroupValue(group...)})
	}
	if dropped > 0 {
		attrs = append(attrs, slog.Int("dropped", dropped))
	}
	return slog.GroupValue(attrs...)
}
