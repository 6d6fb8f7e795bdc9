package ledger

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Kind is what an Entry records.
type Kind uint8

const (
	// Wait is time spent waiting for something held by others: a
	// bulkhead's slot, a pool's worker, a connection from a pool.
	Wait Kind = iota + 1
	// Attempt is a call to the dependency: an HTTP request until its
	// headers, an RPC, a query, a retry's or a hedge's attempt.
	Attempt
	// Backoff is a sleep between attempts.
	Backoff
	// Refused is a policy turning the call away without calling the
	// dependency: a full bulkhead, an open breaker, a shed waiter.
	Refused
	// Expired is one of our deadlines firing: a timeout that cut the call.
	Expired
)

// String returns "wait", "attempt", "backoff", "refused", "expired", or
// "kind(N)".
func (k Kind) String() string {
	switch k {
	case Wait:
		return "wait"
	case Attempt:
		return "attempt"
	case Backoff:
		return "backoff"
	case Refused:
		return "refused"
	case Expired:
		return "expired"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Entry is one thing a gate did to a request.
type Entry struct {
	Name     string        // the instance's Config.Name, a host, a pool's name
	Kind     Kind          // what it was
	Start    time.Duration // when it started, since the Ledger started
	Duration time.Duration // how long it took
	// Outcome is "" when it went as meant (a wait that got its slot, an
	// attempt that succeeded), or a short word: "failed", "timeout",
	// "lost" (a hedge's losing attempt), "full", "open", "503" ...
	Outcome string
}

// Total is the entries of one name and kind added up: the breakdown.
type Total struct {
	Name     string
	Kind     Kind
	Count    int           // entries
	Duration time.Duration // their durations, summed
	Outcomes int           // entries with an Outcome (not as meant)
}

// The bounds of one Ledger: a request that runs ten thousand queries holds
// the first DefaultMaxEntries of them in full and counts the rest in its
// Totals.
const (
	// DefaultMaxEntries is how many entries a Ledger keeps in full,
	// unless WithMaxEntries says otherwise. They live in the Ledger itself,
	// so that the first ones cost no allocation.
	DefaultMaxEntries = 16
	// MaxTotals is how many totals a Ledger keeps: MaxTotals-1 distinct
	// name and kind pairs, and "other", of no kind, for the entries of any
	// more.
	MaxTotals = 16
	// MaxMaxEntries bounds WithMaxEntries.
	MaxMaxEntries = 4096
)

// Ledger is where one request's time went: the entries every gate it
// passed through recorded. Make one with Start; it is safe for concurrent
// use (a hedge's attempts record at once). Every method of a nil *Ledger
// is a no-op: code that records need not check for one.
type Ledger struct {
	// Strings live in two small tables, and entries and totals refer to
	// them by index: a Ledger is one allocation with few pointers for the
	// collector to trace, which keeps Start cheap.
	names    [MaxTotals]string // the totals' names
	outcomes [maxOutcomes]string
	hook     func(context.Context, Entry)
	extra    []Entry // the entries past DefaultMaxEntries, with WithMaxEntries

	started time.Time // with its monotonic reading

	mu        sync.Mutex
	entries   [DefaultMaxEntries]entry
	n         int // entries kept: in entries, then extra
	max       int
	dropped   int // entries counted in the totals only
	totals    [MaxTotals]total
	nTotals   int
	nOutcomes int
	finished  bool
	late      int // entries recorded after Finish, and not kept
	end       time.Duration
}

// entry is an Entry as a Ledger keeps it: its name and kind by the index
// of their total, its outcome by the index of its word (0: none).
type entry struct {
	start, duration time.Duration
	total, outcome  uint8
}

// total is a Total as a Ledger keeps it: its name is names[i].
type total struct {
	duration        time.Duration
	count, outcomes int32
	kind            Kind
}

// maxOutcomes is how many distinct outcome words a Ledger keeps, the
// empty one included; any more are kept as "other".
const maxOutcomes = 8

// Option configures a Ledger.
type Option func(*Ledger)

// WithMaxEntries keeps up to n entries in full instead of
// DefaultMaxEntries (more than DefaultMaxEntries allocates room for them
// on the first entry past it). n is clamped to [1, MaxMaxEntries].
func WithMaxEntries(n int) Option {
	return func(l *Ledger) { l.max = min(max(n, 1), MaxMaxEntries) }
}

// WithHook calls hook with every entry as it is recorded, with the ctx it
// was recorded in (contrib/otel turns it into a span event on that ctx's
// span). hook runs on the recording goroutine, outside the Ledger's lock;
// it must be quick and safe for concurrent use.
func WithHook(hook func(ctx context.Context, e Entry)) Option {
	return func(l *Ledger) { l.hook = hook }
}

type ctxKey struct{}

// withLedger is the ctx Start returns: its parent, and the Ledger, in one
// allocation.
type withLedger struct {
	context.Context
	l Ledger
}

func (c *withLedger) Value(key any) any {
	if key == (ctxKey{}) {
		return &c.l
	}
	return c.Context.Value(key)
}

func (c *withLedger) String() string { return "ledger.Start(" + contextName(c.Context) + ")" }

func contextName(c context.Context) string {
	if s, ok := c.(interface{ String() string }); ok {
		return s.String()
	}
	return "context"
}

// Start returns a ctx that carries a new Ledger, and the Ledger: one
// allocation for both. A nil option is ignored; a nil ctx is taken as
// context.Background().
func Start(ctx context.Context, opts ...Option) (context.Context, *Ledger) {
	if ctx == nil {
		ctx = context.Background()
	}
	c := &withLedger{Context: ctx}
	l := &c.l
	l.started, l.max = time.Now(), DefaultMaxEntries
	for _, o := range opts {
		if o != nil {
			o(l)
		}
	}
	return c, l
}

// From returns the Ledger ctx carries, or nil.
func From(ctx context.Context) *Ledger {
	if ctx == nil {
		return nil
	}
	l, _ := ctx.Value(ctxKey{}).(*Ledger)
	return l
}

// Record records e in the Ledger ctx carries, if it carries one: one
// ctx.Value when it does not.
func Record(ctx context.Context, e Entry) {
	if l := From(ctx); l != nil {
		l.record(ctx, e)
	}
}

// Span records, in the Ledger ctx carries, an entry from start to end:
// times that carry a monotonic reading, as time.Now's do. It is Record for
// a gate that has the two moments at hand.
func Span(ctx context.Context, name string, kind Kind, start, end time.Time, outcome string) {
	if l := From(ctx); l != nil {
		l.record(ctx, Entry{Name: name, Kind: kind, Start: start.Sub(l.started), Duration: end.Sub(start), Outcome: outcome})
	}
}

// Record records e, as the package-level Record does, without a ctx for a
// hook.
func (l *Ledger) Record(e Entry) {
	if l != nil {
		l.record(context.Background(), e)
	}
}

// RecordIn records e with ctx for the hook (WithHook): the package-level
// Record for a caller that has the Ledger at hand already.
func (l *Ledger) RecordIn(ctx context.Context, e Entry) {
	if l != nil {
		l.record(ctx, e)
	}
}

func (l *Ledger) record(ctx context.Context, e Entry) {
	l.mu.Lock()
	if l.finished {
		l.late++
		l.mu.Unlock()
		return
	}
	t := l.addTotal(e)
	switch {
	case l.n < DefaultMaxEntries && l.n < l.max:
		l.entries[l.n] = entry{start: e.Start, duration: e.Duration, total: t, outcome: l.outcomeIndex(e.Outcome)}
		l.n++
	case l.n < l.max:
		l.extra = append(l.extra, e)
		l.n++
	default:
		l.dropped++
	}
	l.mu.Unlock()
	if l.hook != nil {
		l.hook(ctx, e)
	}
}

// addTotal adds e to its name's and kind's total, and returns the total's
// index. l.mu must be held.
func (l *Ledger) addTotal(e Entry) uint8 {
	i := 0
	for ; i < l.nTotals; i++ {
		if l.totals[i].kind == e.Kind && l.names[i] == e.Name {
			break
		}
	}
	if i == l.nTotals {
		switch {
		case l.nTotals < MaxTotals-1:
			l.names[i], l.totals[i] = e.Name, total{kind: e.Kind}
			l.nTotals++
		case l.nTotals == MaxTotals-1:
			l.names[i], l.totals[i] = Other, total{}
			l.nTotals++
		default:
			i = MaxTotals - 1 // "other"
		}
	}
	t := &l.totals[i]
	t.count++
	t.duration += e.Duration
	if e.Outcome != "" {
		t.outcomes++
	}
	return uint8(i)
}

// outcomeIndex returns the index of word in the outcomes table, adding it
// if there is room; 0 is the empty word, and words past the table's room
// are kept as "other". l.mu must be held.
func (l *Ledger) outcomeIndex(word string) uint8 {
	if word == "" {
		return 0
	}
	for i := 1; i <= l.nOutcomes; i++ {
		if l.outcomes[i] == word {
			return uint8(i)
		}
	}
	if l.nOutcomes == maxOutcomes-1 {
		return uint8(maxOutcomes - 1)
	}
	l.nOutcomes++
	l.outcomes[l.nOutcomes] = word
	if l.nOutcomes == maxOutcomes-1 {
		l.outcomes[l.nOutcomes] = Other // the last word's room is "other"'s
	}
	return uint8(l.nOutcomes)
}

// Other is the name of the total, of no Kind, that adds up the entries of
// the name and kind pairs past the first MaxTotals-1, and the outcome of
// entries whose outcome words come past the first few.
const Other = "other"

// Finish ends the Ledger: entries recorded later (a hedge's loser that
// comes back after the response went out) are not kept, only counted in
// Late. It returns the time since Start, which Elapsed returns from then
// on. Finishing again does nothing.
func (l *Ledger) Finish() time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.finished {
		l.finished, l.end = true, time.Since(l.started)
	}
	return l.end
}

// Elapsed returns the time since Start, or until Finish once finished.
func (l *Ledger) Elapsed() time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished {
		return l.end
	}
	return time.Since(l.started)
}

// Started returns when the Ledger started (with a monotonic reading).
func (l *Ledger) Started() time.Time {
	if l == nil {
		return time.Time{}
	}
	return l.started
}

// Entries returns the entries kept in full, in start order (those that
// started at once in the order they were recorded). Past the bound
// (DefaultMaxEntries, or WithMaxEntries), entries are counted in Totals
// only; Dropped says how many.
func (l *Ledger) Entries() []Entry {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	out := make([]Entry, 0, l.n)
	for _, e := range l.entries[:min(l.n, DefaultMaxEntries)] {
		out = append(out, Entry{Name: l.names[e.total], Kind: l.totals[e.total].kind, Start: e.start, Duration: e.duration, Outcome: l.outcomes[e.outcome]})
	}
	out = append(out, l.extra...)
	l.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Entry) int { return cmp.Compare(a.Start, b.Start) })
	return out
}

// Dropped returns how many entries were counted in Totals but not kept in
// Entries, and Late how many were recorded after Finish and not kept at
// all.
func (l *Ledger) Dropped() (dropped, late int) {
	if l == nil {
		return 0, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped, l.late
}

// Totals returns the breakdown: every entry added up by name and kind, in
// the order the pairs first came, the entries past the bound of Entries
// included. Past MaxTotals-1 pairs, the rest add up under Other.
func (l *Ledger) Totals() []Total {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Total, l.nTotals)
	for i := range out {
		t := &l.totals[i]
		out[i] = Total{Name: l.names[i], Kind: t.kind, Count: int(t.count), Duration: t.duration, Outcomes: int(t.outcomes)}
	}
	return out
}
