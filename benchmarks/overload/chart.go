package overload

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// Series is one line of a chart: a value per bin of a run.
type Series struct {
	Name   string
	Values []float64
	Ours   bool // drawn thicker
}

// GoodputSeries is the goodput a second of each run.
func GoodputSeries(runs []Run) []Series {
	var out []Series
	for _, r := range runs {
		s := Series{Name: r.Contender, Ours: strings.HasPrefix(r.Contender, Ours)}
		for _, b := range r.Bins {
			s.Values = append(s.Values, float64(b.Succeeded)/binWidth.Seconds())
		}
		out = append(out, s)
	}
	return out
}

// LimitSeries is the limit at the end of each second, of the runs that
// have one.
func LimitSeries(runs []Run) []Series {
	var out []Series
	for _, r := range runs {
		if r.Bins[0].Limit == 0 && r.Bins[len(r.Bins)-1].Limit == 0 {
			continue
		}
		s := Series{Name: r.Contender, Ours: strings.HasPrefix(r.Contender, Ours)}
		for _, b := range r.Bins {
			s.Values = append(s.Values, float64(b.Limit))
		}
		out = append(out, s)
	}
	return out
}

var palette = []string{"#1f4fa8", "#b35c00", "#5a2d82", "#2f6b2f", "#8a1538", "#00796b", "#555555"}

// Panel is one chart of a figure: its series over the seconds of a run,
// with a dashed line at each of Marks (a phase's start).
type Panel struct {
	Title  string
	Unit   string
	Series []Series
	Marks  []time.Duration
}

// P99Series is the p99 latency (ms) of the successful requests of each
// second of each run.
func P99Series(runs []Run) []Series {
	var out []Series
	for _, r := range runs {
		s := Series{Name: r.Contender, Ours: strings.HasPrefix(r.Contender, Ours)}
		for _, b := range r.Bins {
			s.Values = append(s.Values, float64(r.Quantile(Window{b.At, b.At + binWidth}, 0.99))/float64(time.Millisecond))
		}
		out = append(out, s)
	}
	return out
}

// SVG draws panels one above the other, seconds along the bottom.
func SVG(title string, panels ...Panel) []byte {
	const w, ph, left, right, top = 760, 220, 60, 20, 60
	unique := map[string]bool{}
	for _, p := range panels {
		for _, s := range p.Series {
			unique[s.Name] = true
		}
	}
	h := top + len(panels)*(ph+40) + 18*len(unique) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	colors := map[string]string{}
	var names []string // in the order first drawn, for the legend
	ours := map[string]bool{}
	for pi, p := range panels {
		y0 := top + pi*(ph+40)
		n, hi := 0, 0.0
		for _, s := range p.Series {
			n = max(n, len(s.Values))
			for _, v := range s.Values {
				hi = max(hi, v)
			}
		}
		hi = niceCeil(hi)
		plotW := float64(w - left - right)
		x := func(i int) float64 { return left + plotW*float64(i)/float64(max(n-1, 1)) }
		y := func(v float64) float64 { return float64(y0+ph) - float64(ph)*v/hi }
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", left, y0-6, html.EscapeString(p.Title))
		for k := 0; k <= 4; k++ {
			v := hi * float64(k) / 4
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#dddddd"/>`, left, w-right, y(v), y(v))
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, label(v, p.Unit))
		}
		for _, m := range p.Marks {
			i := int(m / binWidth)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#999999" stroke-dasharray="4 3"/>`+"\n", x(i), x(i), y0, y0+ph)
		}
		for s := 0; s <= n; s += tick(n) {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%ds</text>`, x(min(s, n-1)), y0+ph+16, s)
		}
		b.WriteString("\n")
		for _, s := range p.Series {
			c, ok := colors[s.Name]
			if !ok {
				c = palette[len(colors)%len(palette)]
				colors[s.Name] = c
				names = append(names, s.Name)
				ours[s.Name] = s.Ours
			}
			width := 1.5
			if s.Ours {
				width = 3
			}
			var pts []string
			for i, v := range s.Values {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%.1f" points="%s"/>`+"\n", c, width, strings.Join(pts, " "))
		}
	}
	ly := top + len(panels)*(ph+40)
	for i, name := range names {
		width := 1.5
		if ours[name] {
			width = 3
		}
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="%.1f"/><text x="%d" y="%d">%s</text>`+"\n",
			left, left+24, ly+i*18, ly+i*18, colors[name], width, left+30, ly+i*18+4, html.EscapeString(name))
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func tick(n int) int {
	switch {
	case n > 60:
		return 20
	case n > 20:
		return 10
	}
	return 5
}

func label(v float64, unit string) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f%s", v, unit)
	}
	return fmt.Sprintf("%.1f%s", v, unit)
}
