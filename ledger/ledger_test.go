package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/ledger"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRecordAndRead(t *testing.T) {
	ctx, l := ledger.Start(context.Background())
	require.Same(t, l, ledger.From(ctx))
	ledger.Record(ctx, ledger.Entry{Name: "payments", Kind: ledger.Attempt, Start: 30 * time.Millisecond, Duration: 100 * time.Millisecond, Outcome: "timeout"})
	ledger.Record(ctx, ledger.Entry{Name: "db", Kind: ledger.Wait, Start: 0, Duration: 30 * time.Millisecond})
	ledger.Record(ctx, ledger.Entry{Name: "payments", Kind: ledger.Attempt, Start: 150 * time.Millisecond, Duration: 50 * time.Millisecond})
	assert.Equal(t, []ledger.Entry{
		{Name: "db", Kind: ledger.Wait, Duration: 30 * time.Millisecond},
		{Name: "payments", Kind: ledger.Attempt, Start: 30 * time.Millisecond, Duration: 100 * time.Millisecond, Outcome: "timeout"},
		{Name: "payments", Kind: ledger.Attempt, Start: 150 * time.Millisecond, Duration: 50 * time.Millisecond},
	}, l.Entries(), "in start order")
	assert.Equal(t, []ledger.Total{
		{Name: "payments", Kind: ledger.Attempt, Count: 2, Duration: 150 * time.Millisecond, Outcomes: 1},
		{Name: "db", Kind: ledger.Wait, Count: 1, Duration: 30 * time.Millisecond},
	}, l.Totals(), "in the order the pairs first came")
}

// Span takes two moments with monotonic readings: the entry's start is
// from the Ledger's start.
func TestSpan(t *testing.T) {
	ctx, l := ledger.Start(context.Background())
	t0 := l.Started().Add(5 * time.Millisecond)
	ledger.Span(ctx, "db", ledger.Wait, t0, t0.Add(20*time.Millisecond), "")
	assert.Equal(t, []ledger.Entry{{Name: "db", Kind: ledger.Wait, Start: 5 * time.Millisecond, Duration: 20 * time.Millisecond}}, l.Entries())
}

// Without a Ledger, nothing is recorded and nothing allocated; a nil
// Ledger's methods are no-ops.
func TestNoLedger(t *testing.T) {
	ctx := context.Background()
	assert.Nil(t, ledger.From(ctx))
	var nilCtx context.Context
	assert.Nil(t, ledger.From(nilCtx))
	allocs := testing.AllocsPerRun(100, func() {
		ledger.Record(ctx, ledger.Entry{Name: "db", Kind: ledger.Wait, Duration: time.Millisecond})
		ledger.Span(ctx, "db", ledger.Wait, time.Time{}, time.Time{}, "")
	})
	assert.Zero(t, allocs)
	var l *ledger.Ledger
	l.Record(ledger.Entry{Name: "x"})
	assert.Nil(t, l.Entries())
	assert.Nil(t, l.Totals())
	assert.Empty(t, l.ServerTiming())
	assert.Zero(t, l.Finish())
	assert.Zero(t, l.Elapsed())
	assert.Equal(t, slog.GroupValue(), l.LogValue())
}

// One request holds at most DefaultMaxEntries entries in full, and counts
// every entry in its totals: 10,000 queries hold 16 entries and one total.
func TestBounded(t *testing.T) {
	ctx, l := ledger.Start(context.Background())
	for i := range 10000 {
		ledger.Record(ctx, ledger.Entry{Name: "orders", Kind: ledger.Attempt, Start: time.Duration(i), Duration: time.Microsecond})
	}
	assert.Len(t, l.Entries(), ledger.DefaultMaxEntries)
	dropped, late := l.Dropped()
	assert.Equal(t, 10000-ledger.DefaultMaxEntries, dropped)
	assert.Zero(t, late)
	assert.Equal(t, []ledger.Total{{Name: "orders", Kind: ledger.Attempt, Count: 10000, Duration: 10000 * time.Microsecond}}, l.Totals())

	// Past MaxTotals-1 name and kind pairs, the rest add up as "other".
	ctx, l = ledger.Start(context.Background(), ledger.WithMaxEntries(100))
	for i := range 40 {
		ledger.Record(ctx, ledger.Entry{Name: fmt.Sprint("dep", i), Kind: ledger.Attempt, Duration: time.Millisecond})
	}
	totals := l.Totals()
	require.Len(t, totals, ledger.MaxTotals)
	assert.Equal(t, ledger.Total{Name: ledger.Other, Count: 40 - (ledger.MaxTotals - 1), Duration: time.Duration(40-(ledger.MaxTotals-1)) * time.Millisecond}, totals[ledger.MaxTotals-1])
	assert.Len(t, l.Entries(), 40, "WithMaxEntries(100) keeps more")
}

// Recording is safe for concurrent use: a hedge's attempts record at once.
func TestConcurrentRecords(t *testing.T) {
	ctx, l := ledger.Start(context.Background())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 1000 {
				ledger.Record(ctx, ledger.Entry{Name: fmt.Sprint("hedge", g%2), Kind: ledger.Attempt, Duration: time.Microsecond})
				_ = l.Totals()
			}
		})
	}
	wg.Wait()
	n := 0
	for _, tot := range l.Totals() {
		n += tot.Count
	}
	assert.Equal(t, 8000, n)
}

// After Finish, entries are not kept, only counted: a hedge's loser that
// comes back after the response went out cannot change what was logged.
func TestNothingAfterFinish(t *testing.T) {
	ctx, l := ledger.Start(context.Background())
	ledger.Record(ctx, ledger.Entry{Name: "a", Kind: ledger.Attempt})
	took := l.Finish()
	ledger.Record(ctx, ledger.Entry{Name: "b", Kind: ledger.Attempt, Outcome: "lost"})
	assert.Len(t, l.Entries(), 1)
	assert.Len(t, l.Totals(), 1)
	_, late := l.Dropped()
	assert.Equal(t, 1, late)
	assert.Equal(t, took, l.Elapsed())
	assert.Equal(t, took, l.Finish(), "finishing again does nothing")
}

// A hook sees every entry with the ctx it was recorded in.
func TestHook(t *testing.T) {
	type key struct{}
	var got []string
	ctx, _ := ledger.Start(context.Background(), ledger.WithHook(func(ctx context.Context, e ledger.Entry) {
		got = append(got, fmt.Sprint(ctx.Value(key{}), ":", e.Name))
	}))
	ledger.Record(context.WithValue(ctx, key{}, "span1"), ledger.Entry{Name: "db", Kind: ledger.Wait})
	assert.Equal(t, []string{"span1:db"}, got)
}

// The Server-Timing value parses by the header's grammar, whatever the
// names hold: a name that is not a token is made one, and given whole in
// the description, quoted.
func TestServerTimingIsValid(t *testing.T) {
	ctx, l := ledger.Start(context.Background())
	names := []string{"db", "payments api", `we"ird\name;dur=1`, "", "ünïcode", "tab\tand\nnewline", "a,b"}
	for i, n := range names {
		ledger.Record(ctx, ledger.Entry{Name: n, Kind: ledger.Kind(1 + i%5), Duration: time.Duration(i) * 1500 * time.Microsecond, Outcome: []string{"", "failed"}[i%2]})
	}
	v := l.ServerTiming()
	metrics, err := parseServerTiming(v)
	require.NoError(t, err, "%s", v)
	require.Len(t, metrics, len(names))
	assert.Equal(t, "db.wait", metrics[0].name)
	assert.Equal(t, "0.000", metrics[0].params["dur"])
	assert.Equal(t, "db: 1 wait", metrics[0].params["desc"])
	assert.Equal(t, "payments_api.attempt", metrics[1].name)
	assert.Equal(t, "payments api: 1 attempt, 1 not ok", metrics[1].params["desc"])
	assert.Equal(t, "we_ird_name_dur_1.backoff", metrics[2].name)
	assert.Equal(t, `we"ird\name;dur=1: 1 backoff`, metrics[2].params["desc"])
	assert.Equal(t, "unnamed.refused", metrics[3].name)
	assert.Equal(t, "_n_code.expired", metrics[4].name)
	assert.Equal(t, "tab\tandnewline: 1 wait, 1 not ok", metrics[5].params["desc"], "control characters dropped; a tab is allowed")
	assert.Equal(t, "a_b.attempt", metrics[6].name)
	assert.Equal(t, "9.0", metrics[6].params["dur"])

	b := ledger.AppendMetric([]byte(v), "total", 212500*time.Microsecond)
	metrics, err = parseServerTiming(string(b))
	require.NoError(t, err)
	assert.Equal(t, "total", metrics[len(metrics)-1].name)
	assert.Equal(t, "212.5", metrics[len(metrics)-1].params["dur"])
}

// The breakdown as slog attributes.
func TestLogValue(t *testing.T) {
	ctx, l := ledger.Start(context.Background())
	ledger.Record(ctx, ledger.Entry{Name: "db", Kind: ledger.Wait, Duration: 30 * time.Millisecond})
	ledger.Record(ctx, ledger.Entry{Name: "payments", Kind: ledger.Attempt, Duration: 100 * time.Millisecond, Outcome: "timeout"})
	ledger.Record(ctx, ledger.Entry{Name: "payments", Kind: ledger.Attempt, Duration: 50 * time.Millisecond})
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})).Info("slow request", "ledger", l)
	assert.Equal(t, "level=INFO msg=\"slow request\" ledger.db.wait.dur=30ms ledger.payments.attempt.dur=150ms ledger.payments.attempt.n=2 ledger.payments.attempt.not_ok=1\n", buf.String())
}

func TestKindString(t *testing.T) {
	for k, want := range map[ledger.Kind]string{ledger.Wait: "wait", ledger.Attempt: "attempt", ledger.Backoff: "backoff", ledger.Refused: "refused", ledger.Expired: "expired", 9: "kind(9)"} {
		assert.Equal(t, want, k.String())
	}
}

// metric is one Server-Timing metric: its name and params, unquoted.
type metric struct {
	name   string
	params map[string]string
}

// parseServerTiming parses a Server-Timing header value by the grammar of
// https://www.w3.org/TR/server-timing/ (tokens and quoted-strings of RFC
// 9110), and fails on anything else.
func parseServerTiming(v string) ([]metric, error) {
	var out []metric
	p := &parser{s: v}
	for {
		p.ows()
		name, err := p.token()
		if err != nil {
			return nil, fmt.Errorf("metric name at %d: %w", p.i, err)
		}
		m := metric{name: name, params: map[string]string{}}
		for p.ows(); p.peek() == ';'; p.ows() {
			p.i++
			p.ows()
			key, err := p.token()
			if err != nil {
				return nil, fmt.Errorf("param name at %d: %w", p.i, err)
			}
			p.ows()
			if p.peek() != '=' {
				return nil, fmt.Errorf("no = at %d", p.i)
			}
			p.i++
			p.ows()
			var val string
			if p.peek() == '"' {
				val, err = p.quoted()
			} else {
				val, err = p.token()
			}
			if err != nil {
				return nil, fmt.Errorf("param value at %d: %w", p.i, err)
			}
			m.params[key] = val
		}
		out = append(out, m)
		if p.i == len(p.s) {
			return out, nil
		}
		if p.peek() != ',' {
			return nil, fmt.Errorf("unexpected %q at %d", p.peek(), p.i)
		}
		p.i++
	}
}

type parser struct {
	s string
	i int
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) ows() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *parser) token() (string, error) {
	start := p.i
	for p.i < len(p.s) && strings.IndexByte("!#$%&'*+-.^_`|~", p.s[p.i]) >= 0 || p.i < len(p.s) && isAlnum(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return "", fmt.Errorf("empty token")
	}
	return p.s[start:p.i], nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func (p *parser) quoted() (string, error) {
	p.i++ // the opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", fmt.Errorf("a backslash at the end")
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case c == '\t' || c == ' ' || c == 0x21 || (0x23 <= c && c <= 0x5b) || (0x5d <= c && c <= 0x7e) || c >= 0x80:
			b.WriteByte(c)
			p.i++
		default:
			return "", fmt.Errorf("%q is not allowed in a quoted-string", c)
		}
	}
	return "", fmt.Errorf("unterminated quoted-string")
}
