package dashboard

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/watertight-go/watertight/internal/instances"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/poolwait"
)

// Dashboard is an http.Handler that shows the instances added to it. The
// zero value is an empty dashboard, ready for Add; a Dashboard is safe for
// concurrent use.
type Dashboard struct {
	mu      sync.Mutex
	sources []any
	hist    map[any]*history
	gen     uint64 // counts snapshots, to forget the histories of instances gone

	slow slowest // the slowest requests of the last minute, from Offer
}

// New returns a dashboard of instances; see Add for what it accepts.
func New(instances ...any) (*Dashboard, error) {
	d := new(Dashboard)
	if err := d.Add(instances...); err != nil {
		return nil, err
	}
	return d, nil
}

// Add adds instances to show: *bulkhead.Bulkhead, *timeout.Timeout,
// *pool.Pool, *breaker.Breaker, *retry.Retry and *hedge.Hedge (and their
// budgets), *budget.Budget, *httpguard.Hosts (every host's policies, found
// again on every read as hosts come and go), *poolwait.ConnWaits (a card
// per host), a poolwait.Pool (a *poolwait.DB, contrib/pgx's Tracer,
// contrib/redis's Pool: a card per pool, named by its PoolName), a
// pool.JobKinds (contrib/river's Middleware: a card per job kind), or a
// Chain of these.
//
// It returns an error, and adds nothing, for any other value, for nil,
// and when two different instances of one kind would have one name (their
// cards would have one ID): give each a Config.Name of its own. An
// instance added twice, or found through a chain as well, has one card.
func (d *Dashboard) Add(instances ...any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := checkSources(append(slices.Clip(d.sources), instances...), len(d.sources)); err != nil {
		return err
	}
	// A first sample now, so that the first read has rates and waits
	// since Add, not since each instance was made.
	d.observe(instances, monotime.Now())
	d.sources = append(d.sources, instances...)
	return nil
}

// observe samples every instance among sources at now, for their
// histories. d.mu must be held.
func (d *Dashboard) observe(sources []any, now int64) {
	if d.hist == nil {
		d.hist = map[any]*history{}
	}
	readAll(sources, func(r *reading) { d.historyOf(r, now) })
}

// historyOf returns r's history, sampled at now and marked as seen in
// this generation. d.mu must be held.
func (d *Dashboard) historyOf(r *reading, now int64) *history {
	h := d.hist[r.key]
	if h == nil {
		h = new(history)
		d.hist[r.key] = h
	}
	h.visited = d.gen
	h.observe(now, r)
	return h
}

// checkSources checks the sources from index added on, and the names of
// them all together.
func checkSources(all []any, added int) error {
	if err := instances.Check("dashboard: Add", all[added:]); err != nil {
		return err
	}
	return instances.CheckNames("dashboard: Add", all)
}

// snapshot reads every instance now, samples those whose latest sample is
// at least a second old, and forgets the histories of instances that are
// gone (a host that httpguard.Hosts dropped).
func (d *Dashboard) snapshot() Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.hist == nil {
		d.hist = map[any]*history{}
	}
	d.gen++
	now, wall := monotime.Now(), time.Now()
	cards := make([]Card, 0, len(d.hist))
	readAll(d.sources, func(r *reading) {
		h := d.historyOf(r, now)
		cards = append(cards, cardOf(r, h, now))
	})
	for k, h := range d.hist {
		if h.visited != d.gen {
			delete(d.hist, k)
		}
	}
	snap := arrange(wall, cards)
	snap.Slowest = d.slow.list(wall)
	if snap.Slowest == nil {
		snap.Slowest = []SlowRequest{} // [] in the JSON, never null
	}
	return snap
}

// cardOf completes r's card with what its history says.
func cardOf(r *reading, h *history, now int64) Card {
	card := r.card
	oldest, recent := h.window(now)
	if oldest != nil {
		secs := time.Duration(now - oldest.at).Seconds()
		c := r.c.sub(oldest.c)
		card.Rates = Rates{
			WindowSeconds: secs,
			Calls:         float64(c.calls) / secs,
			Failures:      float64(c.failures) / secs,
			Rejected:      float64(c.rejected) / secs,
			Timeouts:      float64(c.timeouts) / secs,
			Retries:       float64(c.retries) / secs,
		}
	}
	if card.Pool != nil {
		pool := *card.Pool // the reading's card is shared: write a copy
		c := r.c           // no sample before now: since the pool was made
		if oldest != nil {
			c = r.c.sub(oldest.c)
		}
		if c.waits > 0 {
			pool.MeanWaitMS = ms(time.Duration(c.waitNS / c.waits))
		}
		card.Pool = &pool
	}
	var recentCounts counters
	var recentSecs float64
	if recent != nil {
		recentCounts = r.c.sub(recent.c)
		recentSecs = time.Duration(now - recent.at).Seconds()
	}
	r.judge(&card, recentCounts, recentSecs)
	if r.hasWait {
		card.Wait = waitOf(r, h, oldest, now)
	}
	if r.hasHold {
		st := r.hold
		if oldest != nil {
			st = windowed(h.holdSince(oldest), r.hold.Sub(h.hold))
		}
		card.Hold = &Wait{What: "connection held", Count: st.Count, P50MS: ms(st.Quantile(0.5)), P99MS: ms(st.Quantile(0.99)), Points: []Point{}}
	}
	return card
}

// windowed adds to the samples' part of a window the part since the
// latest sample.
func windowed(st, tail poolwait.Stats) poolwait.Stats {
	for i, n := range tail.Buckets {
		st.Buckets[i] += n
	}
	st.Count += tail.Count
	st.Max = max(st.Max, tail.Max)
	return st
}

// waitOf is r's wait over the window that starts at oldest (the whole
// past when oldest is nil), and its points.
func waitOf(r *reading, h *history, oldest *sample, now int64) *Wait {
	st := r.wait // no sample before now (an instance first seen now): everything since it was made
	if oldest != nil {
		st = windowed(h.waitSince(oldest), r.wait.Sub(h.wait))
	}
	w := &Wait{What: waitWhat[r.card.Kind], Count: st.Count, P50MS: ms(st.Quantile(0.5)), P99MS: ms(st.Quantile(0.99)), Points: []Point{}}
	after := false
	for i := range h.n {
		s := h.at(i)
		if !after {
			after = s == oldest
			continue
		}
		if s.count == 0 {
			continue
		}
		w.Points = append(w.Points, Point{AgeSeconds: time.Duration(now - s.at).Seconds(), P50MS: ms(s.p50), P99MS: ms(s.p99)})
	}
	return w
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var statusRank = map[string]int{"refusing": 0, "warn": 1, "ok": 2}

// arrange groups cards by name and lists the troubled ones worst first.
func arrange(at time.Time, cards []Card) Snapshot {
	// Within a name, cards keep the order they were found in: a chain's
	// policies outermost first, as a call meets them.
	slices.SortStableFunc(cards, func(a, b Card) int { return cmp.Compare(a.Name, b.Name) })
	snap := Snapshot{GeneratedAt: at, Summary: []Trouble{}, Groups: []Group{}}
	for _, c := range cards {
		if n := len(snap.Groups); n == 0 || snap.Groups[n-1].Name != c.Name {
			snap.Groups = append(snap.Groups, Group{Name: c.Name})
		}
		g := &snap.Groups[len(snap.Groups)-1]
		g.Cards = append(g.Cards, c)
		if c.Status != "ok" {
			snap.Summary = append(snap.Summary, Trouble{ID: c.ID, Kind: c.Kind, Name: c.Name, Status: c.Status, State: c.State, Detail: c.Detail})
		}
	}
	byID := make(map[string]float64, len(snap.Summary))
	for _, c := range cards {
		byID[c.ID] = c.Rates.Rejected
	}
	slices.SortStableFunc(snap.Summary, func(a, b Trouble) int {
		return cmp.Or(cmp.Compare(statusRank[a.Status], statusRank[b.Status]), cmp.Compare(byID[b.ID], byID[a.ID]))
	})
	return snap
}

// ServeHTTP answers GET and HEAD with the page, or with the Snapshot as
// JSON when the query has format=json. Every answer reads every instance
// live; it is never cached.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store") // every answer, the errors included
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "dashboard: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	switch f := r.URL.Query().Get("format"); f {
	case "json":
		writeJSON(w, d.snapshot())
	case "", "html":
		writeHTML(w, d.snapshot())
	default:
		http.Error(w, "dashboard: unknown format "+strconv.Quote(f)+"; use json or html", http.StatusBadRequest)
	}
}
