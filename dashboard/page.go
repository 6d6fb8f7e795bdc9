package dashboard

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
)

var (
	//go:embed page.html
	pageHTML string
	//go:embed page.css
	pageCSS string
	//go:embed page.js
	pageJS string
)

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"css":      func() template.CSS { return template.CSS(pageCSS) },
	"js":       func() template.JS { return template.JS(pageJS) },
	"state":    stateText,
	"kindText": kindText,
	"card":     cardHTML,
	"slow":     func(r SlowRequest) template.HTML { return template.HTML(slowHTML(r)) },
	"clock":    func(t time.Time) string { return t.Format(clockFormat) },
	"datetime": func(t time.Time) string { return t.Format(datetime) },
}).Parse(pageHTML))

// The page's Content-Security-Policy allows its own inline style and
// script, by hash, and requests to its own server only.
var contentSecurityPolicy = "default-src 'none'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" +
	"; style-src " + hashSource(pageCSS) + "; script-src " + hashSource(pageJS)

func hashSource(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func writeHTML(w http.ResponseWriter, snap Snapshot) {
	var buf bytes.Buffer
	buf.Grow(8192 + 3072*len(snap.Summary) + 3072*cardCount(snap))
	if err := page.Execute(&buf, snap); err != nil {
		http.Error(w, "dashboard: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.Write(buf.Bytes())
}

func cardCount(s Snapshot) (n int) {
	for _, g := range s.Groups {
		n += len(g.Cards)
	}
	return n
}

func writeJSON(w http.ResponseWriter, snap Snapshot) {
	b, err := json.Marshal(snap)
	if err != nil {
		http.Error(w, "dashboard: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// row is one rate a card shows: which field of Rates, and what it is
// called for that kind.
type row struct{ Key, Label string }

var rows = map[string][]row{
	"breaker":    {{"calls", "calls"}, {"failures", "failures"}, {"rejected", "rejected"}},
	"bulkhead":   {{"calls", "calls"}, {"rejected", "turned away"}, {"timeouts", "wait timeouts"}},
	"pool":       {{"calls", "tasks"}, {"rejected", "turned away"}, {"timeouts", "expired or timed out"}, {"failures", "failed"}},
	"timeout":    {{"calls", "calls"}, {"timeouts", "exceeded"}, {"rejected", "refused"}},
	"retry":      {{"calls", "calls"}, {"retries", "retries"}, {"failures", "gave up"}},
	"hedge":      {{"calls", "calls"}, {"retries", "hedges"}, {"rejected", "refused"}},
	"budget":     {{"calls", "requests"}, {"retries", "withdrawn"}, {"rejected", "refused"}},
	"conn_waits": {{"calls", "checkouts"}, {"failures", "no connection"}},
	// A connection pool's "failures" are checkouts that failed or whose ctx ended.
	"connection_pool": {{"calls", "checkouts"}, {"timeouts", "timed out"}, {"failures", "no connection"}},
	// A job kind's "rejected" are jobs snoozed by a refusal; its "failures", failed or cancelled.
	"jobs": {{"calls", "worked"}, {"rejected", "snoozed"}, {"failures", "failed"}},
}

func rateOf(r Rates, key string) float64 {
	switch key {
	case "calls":
		return r.Calls
	case "failures":
		return r.Failures
	case "rejected":
		return r.Rejected
	case "timeouts":
		return r.Timeouts
	case "retries":
		return r.Retries
	}
	panic("dashboard: no rate " + key)
}

// The formats below are the page's script's too (page.js: fmt), so that
// a refresh shows what the server rendered.

func stateText(s string) string { return strings.ReplaceAll(s, "_", "-") }

func rateText(v float64, r Rates) string {
	if r.WindowSeconds == 0 {
		return "—"
	}
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + "/s"
}

func msText(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 1:
		return strconv.FormatFloat(v*1000, 'f', 0, 64) + " µs"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	case v < 1000:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
}

func millis(d time.Duration) string { return msText(ms(d)) }

// The chart is chartW × chartH, the last minute from left to right, 0 at
// the bottom and the highest p99 of the minute at the top.
const chartW, chartH = 180, 40

func chartPoints(points []Point, key string) string {
	top := 0.0
	for _, p := range points {
		top = max(top, p.P99MS)
	}
	if top == 0 {
		top = 1
	}
	var b strings.Builder
	for i, p := range points {
		v := p.P50MS
		if key == "p99_ms" {
			v = p.P99MS
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", chartW*(1-p.AgeSeconds/60), chartH-1-(chartH-3)*v/top)
	}
	return b.String()
}
