package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints the results for a person to read.
func (r *Results) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "\n%d requests/s for %v per run (80%% healthy, 20%% enrich); the external API turns %v slow after a quarter of the run; database: %s, %d connections\n\n",
		r.Rate, r.Duration, r.Slowness, r.Database, maxOpenConns)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tendpoint\trequests\tsuccess\tp50\tp95\tp99\t503s\tdb checkouts waited\tdb mean wait\tdb wait p99\tpeak goroutines\t")
	for _, run := range r.Runs {
		for i, e := range run.Endpoints {
			waits, mean, p99, peak := "", "", "", ""
			if i == 0 {
				waits, mean, p99, peak = fmt.Sprint(run.DBWaits), round(run.DBMeanWait), round(run.DBWaitP99), fmt.Sprint(run.PeakGoroutines)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n",
				run.Mode, e.Endpoint, e.Requests, 100*e.SuccessRate, round(e.P50), round(e.P95), round(e.P99), e.Status503, waits, mean, p99, peak)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s\n", r.Summary)
	if opened := r.Runs[len(r.Runs)-1].BreakerOpenedAfter; opened >= 0 {
		fmt.Fprintf(w, "protected: the breaker opened %s after the external API turned slow; from then on enrich calls were refused at once\n", round(opened))
	}
	fmt.Fprintf(w, "(a latency of %v is the load generator giving up: its client timeout)\n", r.ClientTimeout)
	fmt.Fprintf(w, "\nWhere a request's time went (its ledger: the slowest request of each endpoint, if slower than %v, and the first an open breaker refused):\n", slowAfter)
	for _, run := range r.Runs {
		for _, line := range run.Ledgers {
			if line != "" {
				fmt.Fprintln(w, line)
			}
		}
	}
}

func summarize(unprotected, protected RunResult) string {
	u, p := unprotected.Endpoints[0], protected.Endpoints[0]
	return fmt.Sprintf("healthy endpoints p99: %s unprotected → %s protected; success %.1f%% → %.1f%%; database checkouts that waited: %d → %d",
		round(u.P99), round(p.P99), 100*u.SuccessRate, 100*p.SuccessRate, unprotected.DBWaits, protected.DBWaits)
}

// round prints a latency with about three significant digits.
func round(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// SVG charts the healthy endpoint's p99 latency over time for both runs,
// on a logarithmic scale.
func (r *Results) SVG() []byte {
	const (
		width, height          = 720, 360
		left, right, top, base = 70, 20, 40, 310
	)
	lo, hi := math.Log10(float64(time.Millisecond)), math.Log10(float64(10*time.Second))
	x := func(i, n int) float64 { return left + float64(i)*(width-left-right)/math.Max(1, float64(n-1)) }
	y := func(d time.Duration) float64 {
		v := math.Log10(math.Max(float64(d), float64(time.Millisecond)))
		return base - (v-lo)/(hi-lo)*(base-top)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14">Healthy endpoint p99 latency, each half second (log scale)</text>`+"\n", left)
	for _, tick := range []time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second, 10 * time.Second} {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, width-right, y(tick), y(tick), left-6, y(tick)+4, tick)
	}
	colors := map[string]string{"unprotected": "#d62728", "protected": "#2ca02c"}
	for i, run := range r.Runs {
		var pts []string
		for j, d := range run.Timeline {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(j, len(run.Timeline)), y(d)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colors[run.Mode], strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", left+10+i*120, base+40, colors[run.Mode], run.Mode)
	}
	slowAt := x(int(float64(len(r.Runs[0].Timeline))*0.25), len(r.Runs[0].Timeline))
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#999" stroke-dasharray="4 3"/><text x="%.1f" y="%d" fill="#666">external API turns slow</text>`+"\n",
		slowAt, slowAt, top, base, slowAt+4, top+12)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">time into the run (%v)</text>`+"\n", width-right, base+18, r.Duration)
	b.WriteString("</svg>\n")
	return b.Bytes()
}
