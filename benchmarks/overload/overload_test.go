package overload

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

var out = flag.String("overload.out", "", "write each scenario's figures (NAME.json) and chart (NAME.svg) to this directory")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scale is how long the scenarios run: all of them, or a tenth under the
// race detector.
func scale() float64 {
	if raceEnabled {
		return 0.1
	}
	return 1
}

// play runs every contender through s, each in a bubble of its own.
// Under the race detector it runs ours only: its shadow memory for the
// stacks of created goroutines is never freed, and a few million
// goroutines in one process (every request is one; -count=5 of every
// contender made that many) crash it in __sanitizer's StackDepot.
func play(t *testing.T, s Scenario, cs []Contender) []Run {
	if raceEnabled {
		cs = cs[len(cs)-1:]
	}
	var runs []Run
	for _, c := range cs {
		start := time.Now()
		synctest.Test(t, func(t *testing.T) { runs = append(runs, s.Play(c, Direct)) })
		t.Logf("%s: %s in %v of wall time", s.Name, c.Name, time.Since(start).Round(time.Millisecond))
	}
	return runs
}

// save writes a scenario's figures and chart to -overload.out.
func save(t *testing.T, name string, figures any, chart []byte) {
	saveFigures(t, name, figures)
	if *out != "" {
		require.NoError(t, os.WriteFile(filepath.Join(*out, name+".svg"), chart, 0o644))
	}
}

func saveFigures(t *testing.T, name string, figures any) {
	if *out == "" {
		return
	}
	b, err := json.MarshalIndent(figures, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(*out, name+".json"), b, 0o644))
}

func TestRetryStorm(t *testing.T) {
	f := scale()
	runs := play(t, RetryStorm().Scaled(f), StormContenders())
	var figs []StormFigures
	for _, r := range runs {
		figs = append(figs, Storm(r, f))
	}
	t.Logf("retry storm:\n%s", StormTable(figs).Text())
	ours := figs[len(figs)-1]
	save(t, "storm", figs, SVG("Retry storm: goodput a second (a 10 s spike of 3× load from 10 s)",
		Panel{Title: "goodput", Unit: "/s", Series: GoodputSeries(runs), Marks: []time.Duration{10 * time.Second, 20 * time.Second}}))
	if raceEnabled {
		return
	}
	plain := figs[1]
	assert.LessOrEqual(t, ours.Amplification, 1.4, "ours")
	assert.GreaterOrEqual(t, plain.Amplification, 2.5, "the plain loop")
	assert.True(t, ours.Recovery >= 0 && ours.Recovery <= 5*time.Second, "ours back after %v", ours.Recovery)
	assert.Less(t, plain.Recovery, time.Duration(0), "the plain loop stays down: a metastable failure")
}

func TestBrownout(t *testing.T) {
	f := scale()
	runs := play(t, Brownout().Scaled(f), BrownoutContenders())
	var figs []BrownoutFigures
	for _, r := range runs {
		figs = append(figs, BrownoutOf(r, f, Offered))
	}
	t.Logf("brownout:\n%s", BrownoutTable(figs).Text())
	marks := []time.Duration{20 * time.Second, 80 * time.Second}
	save(t, "brownout", figs, SVG("Brownout: capacity 4,000/s, 1,000/s from 20 s to 80 s; offered 3,200/s",
		Panel{Title: "goodput", Unit: "/s", Series: GoodputSeries(runs), Marks: marks},
		Panel{Title: "concurrency limit", Series: LimitSeries(runs), Marks: marks}))
	if raceEnabled {
		return
	}
	ours, static40, static10 := figs[len(figs)-1], figs[1], figs[2]
	const sick, latency = 1000.0, 10 * time.Millisecond
	assert.GreaterOrEqual(t, ours.Sick, 0.9*sick, "ours: goodput during the brownout")
	assert.LessOrEqual(t, ours.SickP99, 3*latency, "ours: p99 during the brownout")
	assert.True(t, ours.Recovery >= 0 && ours.Recovery <= 10*time.Second, "ours back after %v", ours.Recovery)
	assert.GreaterOrEqual(t, ours.Healthy, 0.99*max(static40.Healthy, static10.Healthy), "ours matches the better static size while healthy")
	assert.GreaterOrEqual(t, ours.Sick, 0.99*max(static40.Sick, static10.Sick), "and during the brownout")
	assert.Less(t, static10.Healthy, 0.5*ours.Healthy, "the bad day's size starves the healthy day")
	assert.Greater(t, static40.SickP99, 3*latency, "the healthy day's size queues in the brownout")
}

func TestTail(t *testing.T) {
	f := scale()
	runs := play(t, Tail().Scaled(f), TailContenders())
	var figs []TailFigures
	for _, r := range runs {
		figs = append(figs, TailOf(r, f))
	}
	t.Logf("tail:\n%s", TailTable(figs).Text())
	save(t, "tail", figs, SVG("Tail: 2% of calls take 200 ms, the rest 8–12 ms; 500 requests a second",
		Panel{Title: "p99 latency of each second", Unit: " ms", Series: P99Series(runs)}))
	if raceEnabled {
		return
	}
	none, theirs, ours := figs[0], figs[1], figs[2]
	assert.LessOrEqual(t, 2*ours.P99, none.P99, "ours cuts p99 by 2× or more")
	assert.LessOrEqual(t, ours.ExtraLoad, 0.10, "with at most 10% extra load")
	if ours.P99 <= theirs.P99 {
		assert.LessOrEqual(t, ours.ExtraLoad, theirs.ExtraLoad, "no more extra load than failsafe-go's hedge for a p99 as good")
	}
}
