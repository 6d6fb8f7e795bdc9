package overload

import (
	"fmt"
	"strings"
	"time"
)

// StormFigures are the retry storm's figures for one contender.
type StormFigures struct {
	Contender     string  `json:"contender"`
	Amplification float64 `json:"amplification"`  // attempts at the dependency per request, over the spike and the 10 s after it
	Before        float64 `json:"goodput_before"` // goodput a second before the spike
	During        float64 `json:"goodput_during"` // during it
	After         float64 `json:"goodput_after"`  // in the 20 s after it
	// Recovery is how long after the spike goodput was back within 5% of
	// Before (for three seconds running); -1: not within the run.
	Recovery time.Duration `json:"recovery_ns"`
	// Retries are ours: retries made before, during and after the spike.
	RetriesBefore int `json:"retries_before"`
	RetriesDuring int `json:"retries_during"`
	RetriesAfter  int `json:"retries_after"`
}

// Storm computes the figures of a run of RetryStorm (scaled by f).
func Storm(r Run, f float64) StormFigures {
	s := func(sec float64) time.Duration { return time.Duration(sec * f * float64(time.Second)) }
	before, during, after := Window{s(2), s(10)}, Window{s(10), s(20)}, Window{s(20), s(40)}
	out := StormFigures{
		Contender:     r.Contender,
		Amplification: r.Amplification(Window{s(10), s(30)}),
		Before:        r.Goodput(before),
		During:        r.Goodput(during),
		After:         r.Goodput(after),
	}
	out.Recovery = r.Recovery(s(20), 0.95*out.Before)
	out.RetriesBefore, out.RetriesDuring, out.RetriesAfter = r.retries(before), r.retries(during), r.retries(after)
	return out
}

func (r Run) retries(w Window) int {
	n := 0
	for _, b := range r.bins(w) {
		n += b.Retries
	}
	return n
}

// BrownoutFigures are the brownout's figures for one contender.
type BrownoutFigures struct {
	Contender string `json:"contender"`
	// Goodput a second, and p50 and p99 of successful calls, while healthy
	// (before the brownout), during it (from 5 s in) and once recovered.
	Healthy      float64       `json:"goodput_healthy"`
	Sick         float64       `json:"goodput_brownout"`
	Recovered    float64       `json:"goodput_recovered"`
	HealthyP99   time.Duration `json:"p99_healthy_ns"`
	SickP50      time.Duration `json:"p50_brownout_ns"`
	SickP99      time.Duration `json:"p99_brownout_ns"`
	RecoveredP99 time.Duration `json:"p99_recovered_ns"`
	// The lowest and highest limit at the end of a second, during the
	// brownout and while healthy; 0 for contenders without one.
	SickLimitLow     int `json:"limit_brownout_low"`
	SickLimitHigh    int `json:"limit_brownout_high"`
	HealthyLimitLow  int `json:"limit_healthy_low"`
	HealthyLimitHigh int `json:"limit_healthy_high"`
	// Recovery is how long after the dependency recovered goodput was
	// back to 90% of the offered load (for three seconds running); -1:
	// not within the run.
	Recovery time.Duration `json:"recovery_ns"`
}

// BrownoutOf computes the figures of a run of Brownout (scaled by f).
func BrownoutOf(r Run, f float64, offered float64) BrownoutFigures {
	s := func(sec float64) time.Duration { return time.Duration(sec * f * float64(time.Second)) }
	healthy, sick, recovered := Window{s(5), s(20)}, Window{s(25), s(80)}, Window{s(90), s(100)}
	out := BrownoutFigures{
		Contender: r.Contender,
		Healthy:   r.Goodput(healthy), Sick: r.Goodput(sick), Recovered: r.Goodput(recovered),
		HealthyP99: r.Quantile(healthy, 0.99), SickP50: r.Quantile(sick, 0.5), SickP99: r.Quantile(sick, 0.99),
		RecoveredP99: r.Quantile(recovered, 0.99),
		Recovery:     r.Recovery(s(80), 0.9*offered),
	}
	out.SickLimitLow, out.SickLimitHigh = r.LimitRange(sick)
	out.HealthyLimitLow, out.HealthyLimitHigh = r.LimitRange(healthy)
	return out
}

// TailFigures are the tail scenario's figures for one contender.
type TailFigures struct {
	Contender string        `json:"contender"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	P999      time.Duration `json:"p999_ns"`
	ExtraLoad float64       `json:"extra_load"` // attempts at the dependency per request, minus 1
}

// TailOf computes the figures of a run of Tail (scaled by f), leaving
// out its first 10 s, while adaptive delays learn.
func TailOf(r Run, f float64) TailFigures {
	w := Window{time.Duration(10 * f * float64(time.Second)), time.Duration(60 * f * float64(time.Second))}
	return TailFigures{
		Contender: r.Contender,
		P50:       r.Quantile(w, 0.5), P99: r.Quantile(w, 0.99), P999: r.Quantile(w, 0.999),
		ExtraLoad: r.Amplification(w) - 1,
	}
}

// Table is rows of text under a header, for a terminal or for Markdown.
type Table struct {
	Header []string
	Rows   [][]string
}

// Markdown renders t as a Markdown table.
func (t Table) Markdown() string {
	var b strings.Builder
	row := func(cells []string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	row(t.Header)
	sep := make([]string, len(t.Header))
	for i := range sep {
		sep[i] = "---"
	}
	row(sep)
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}

// Text renders t with aligned columns.
func (t Table) Text() string {
	width := make([]int, len(t.Header))
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		for i, c := range r {
			if i == 0 {
				fmt.Fprintf(&b, "%-*s", width[i], c)
			} else {
				fmt.Fprintf(&b, "  %*s", width[i], c)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// StormTable is the retry storm's table. Ratios ("/ ours") are to the
// last row, ours.
func StormTable(fs []StormFigures) Table {
	t := Table{Header: []string{"contender", "amplification", "/ ours", "goodput before", "during spike", "/ ours", "after", "/ ours", "back to 95% after the spike", "our retries before / during / after"}}
	o := fs[len(fs)-1]
	for _, f := range fs {
		retries := "—"
		if strings.HasPrefix(f.Contender, Ours) {
			retries = fmt.Sprintf("%d / %d / %d", f.RetriesBefore, f.RetriesDuring, f.RetriesAfter)
		}
		t.Rows = append(t.Rows, []string{f.Contender, fmt.Sprintf("%.2f×", f.Amplification), ratio(f.Amplification, o.Amplification),
			fmt.Sprintf("%.0f/s", f.Before), fmt.Sprintf("%.0f/s", f.During), ratio(f.During, o.During),
			fmt.Sprintf("%.0f/s", f.After), ratio(f.After, o.After), recovery(f.Recovery), retries})
	}
	return t
}

func ratio(v, ours float64) string {
	if ours == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", v/ours)
}

// BrownoutTable is the brownout's table.
func BrownoutTable(fs []BrownoutFigures) Table {
	t := Table{Header: []string{"contender", "healthy goodput", "/ ours", "p99", "brownout goodput", "/ ours", "p50", "p99", "/ ours", "limit", "recovered goodput", "back to 90%"}}
	o := fs[len(fs)-1]
	for _, f := range fs {
		limit := "—"
		if f.SickLimitHigh > 0 {
			limit = fmt.Sprintf("%d–%d", f.SickLimitLow, f.SickLimitHigh)
		}
		t.Rows = append(t.Rows, []string{f.Contender, fmt.Sprintf("%.0f/s", f.Healthy), ratio(f.Healthy, o.Healthy), ms(f.HealthyP99),
			fmt.Sprintf("%.0f/s", f.Sick), ratio(f.Sick, o.Sick), ms(f.SickP50), ms(f.SickP99), ratio(float64(f.SickP99), float64(o.SickP99)),
			limit, fmt.Sprintf("%.0f/s", f.Recovered), recovery(f.Recovery)})
	}
	return t
}

// TailTable is the tail scenario's table.
func TailTable(fs []TailFigures) Table {
	t := Table{Header: []string{"contender", "p50", "p99", "/ ours", "p99.9", "extra load", "/ ours"}}
	o := fs[len(fs)-1]
	for _, f := range fs {
		t.Rows = append(t.Rows, []string{f.Contender, ms(f.P50), ms(f.P99), ratio(float64(f.P99), float64(o.P99)), ms(f.P999),
			fmt.Sprintf("%.1f%%", max(0, 100*f.ExtraLoad)), ratio(max(0, f.ExtraLoad), o.ExtraLoad)})
	}
	return t
}

func recovery(d time.Duration) string {
	if d < 0 {
		return "not within the run"
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
