package dashboard

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/ledger"
)

// SlowestKept is how many of the slowest requests of the last minute the
// dashboard keeps and shows.
const SlowestKept = 10

// slowestWindow is how long a request stays among the slowest.
const slowestWindow = time.Minute

// slowest keeps the SlowestKept slowest requests that finished in the
// last minute. Offer compares a request with the slowest kept, without a
// lock, and takes the lock only for one that may be kept.
type slowest struct {
	// floor is the shortest elapsed time a request must have to be kept
	// (ns): the SlowestKept-th slowest's, once SlowestKept are kept; 0
	// before. floorUntil is when the oldest kept request leaves the window
	// (unix ns): after it, the floor is stale and Offer takes the lock.
	floor, floorUntil atomic.Int64

	mu   sync.Mutex
	kept []SlowRequest // slowest first
}

// Offer keeps r if it is among the slowest requests of the last minute.
// It is the dashboard's ledger.Sink: give the Dashboard to
// httpguard.LedgerConfig.Sink.
func (d *Dashboard) Offer(r ledger.Request) {
	s := &d.slow
	end := r.Start.Add(r.Elapsed) // the request's end: no clock read
	if int64(r.Elapsed) < s.floor.Load() && end.UnixNano() < s.floorUntil.Load() {
		return // faster than every request kept, and none kept has left the window
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(end)
	req := slowRequest(r, end)
	i, _ := slices.BinarySearchFunc(s.kept, req, func(a, b SlowRequest) int {
		return cmpDesc(a.ElapsedMS, b.ElapsedMS)
	})
	if i >= SlowestKept {
		return
	}
	s.kept = slices.Insert(s.kept, i, req)
	if len(s.kept) > SlowestKept {
		s.kept = s.kept[:SlowestKept]
	}
	s.publish()
}

// prune drops the requests that left the window by now. s.mu must be
// held.
func (s *slowest) prune(now time.Time) {
	s.kept = slices.DeleteFunc(s.kept, func(r SlowRequest) bool { return now.Sub(r.At) > slowestWindow })
	s.publish()
}

// publish sets the floor from what is kept. s.mu must be held.
func (s *slowest) publish() {
	if len(s.kept) < SlowestKept {
		s.floor.Store(0)
		s.floorUntil.Store(0)
		return
	}
	oldest := s.kept[0].At
	for _, r := range s.kept {
		if r.At.Before(oldest) {
			oldest = r.At
		}
	}
	s.floor.Store(int64(s.kept[len(s.kept)-1].ElapsedMS * float64(time.Millisecond)))
	s.floorUntil.Store(oldest.Add(slowestWindow).UnixNano())
}

// list returns the requests kept at now, slowest first.
func (s *slowest) list(now time.Time) []SlowRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(now)
	return slices.Clone(s.kept)
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// slowRequest is r as the dashboard shows it, ended at end.
func slowRequest(r ledger.Request, end time.Time) SlowRequest {
	out := SlowRequest{Method: r.Method, Path: r.Path, Status: r.Status, At: end, ElapsedMS: ms(r.Elapsed), Parts: []Part{}}
	for _, t := range r.Ledger.Totals() {
		kind := "other"
		if t.Kind != 0 {
			kind = t.Kind.String()
		}
		out.Parts = append(out.Parts, Part{Name: t.Name, Kind: kind, MS: ms(t.Duration), Count: t.Count, NotOK: t.Outcomes})
	}
	return out
}

// The bar of a slow request is barW wide: its parts side by side, scaled
// to the longer of the request's time and their sum.
const barW = 300

// minPartW is the width of a part that took no time (a refusal at once).
const minPartW = 2

// slowHTML renders one slow request: what it was, its time, and its
// breakdown as a bar and as a list, the bar a picture of the list.
func slowHTML(r SlowRequest) string {
	var w cardWriter
	w.Grow(1024)
	w.raw(`<li><span class="req">`, esc(r.Method), " ", esc(r.Path), `</span> <span class="kind">`, itoa(r.Status),
		`</span> <strong>`, esc(msText(r.ElapsedMS)), `</strong> <time datetime="`, r.At.Format(datetime), `">`, r.At.Format(clockFormat), "</time>\n")
	scale := r.ElapsedMS
	sum := 0.0
	for _, p := range r.Parts {
		sum += p.MS
	}
	scale = max(scale, sum, 1e-9)
	labels := make([]string, 0, len(r.Parts))
	for _, p := range r.Parts {
		labels = append(labels, partText(p))
	}
	w.raw(`<svg class="bar" viewBox="0 0 `, itoa(barW), ` 12" width="`, itoa(barW), `" height="12" role="img" aria-label="`, esc(strings.Join(labels, ", ")), "\">\n")
	x := 0.0
	for i, p := range r.Parts {
		width := max(barW*p.MS/scale, minPartW) // a part of no time is a mark, not nothing
		w.raw(`<rect class="k-`, esc(p.Kind), `" x="`, fixed1(x), `" y="0" width="`, fixed1(width), `" height="12"><title>`, esc(labels[i]), "</title></rect>\n")
		x += width
	}
	w.raw("</svg>\n", `<ul class="parts">`)
	for i, p := range r.Parts {
		w.raw("\n", `<li><span class="swatch k-`, esc(p.Kind), `"></span>`, esc(labels[i]), "</li>")
	}
	w.raw("\n</ul>\n</li>")
	return w.String()
}

// partText is one part in words, as the page's script writes it too:
// "db wait 7.90 s", "payments attempt ×2 150 ms (1 not ok)".
func partText(p Part) string {
	s := p.Name + " " + p.Kind
	if p.Count > 1 {
		s += " ×" + itoa(p.Count)
	}
	if p.MS > 0 || p.Kind != "refused" { // a refusal at once took no time
		s += " " + msText(p.MS)
	}
	if p.NotOK > 0 && p.Kind != "refused" { // a refusal is never as meant
		s += " (" + itoa(p.NotOK) + " not ok)"
	}
	return s
}

func fixed1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
