package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/watertight-go/watertight/benchmarks/overload"
)

// overloadResults are the overload scenarios' figures, from one run of
// their tests, simulated and on real loopback.
type overloadResults struct {
	storm, realStorm       []overload.StormFigures
	brownout, realBrownout []overload.BrownoutFigures
	tail, realTail         []overload.TailFigures
	wall                   time.Duration
}

// runOverload runs package overload's scenario tests once, which also
// check their targets, and moves their charts to docs as overload-*.svg.
func runOverload(docs string) (*overloadResults, error) {
	dir, err := os.MkdirTemp("", "overload")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(os.Stderr, "report: the overload scenarios (go test ./overload, under a minute)")
	start := time.Now()
	cmd := exec.Command("go", "test", "-count", "1", "-run", "TestRetryStorm|TestBrownout|TestTail|TestOnRealLoopback", "./overload", "-overload.out", dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("the overload scenarios failed (their targets are tests): %w", err)
	}
	r := &overloadResults{wall: time.Since(start)}
	for name, into := range map[string]any{
		"storm": &r.storm, "real-storm": &r.realStorm,
		"brownout": &r.brownout, "real-brownout": &r.realBrownout,
		"tail": &r.tail, "real-tail": &r.realTail,
	} {
		b, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, into); err != nil {
			return nil, fmt.Errorf("%s.json: %w", name, err)
		}
	}
	for _, name := range []string{"storm", "brownout", "tail"} {
		b, err := os.ReadFile(filepath.Join(dir, name+".svg"))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(docs, "overload-"+name+".svg"), b, 0o644); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func writeOverload(b *bytes.Buffer, r *overloadResults) {
	fmt.Fprintf(b, "\n## Under overload\n\n")
	fmt.Fprintf(b, "The incidents static limits and naive retries do not survive, from `benchmarks/overload` (%.0f s of wall time for all of it, here). "+
		"The dependency is a queue in front of a number of servers; it fails more of the calls it serves the longer its queue (after their full service time, so a failure costs as much as a success), "+
		"and skips a queued call whose caller has gone. Load is open-loop, each request with a 1 s deadline. "+
		"The tables are simulated under `testing/synctest` with the contenders' real code; the same scenarios, shortened, also run on real time over HTTP on loopback (below each). "+
		"\"/ ours\" is the row's figure over ours; \"not within the run\" means that goodput never came back for three seconds running before the run ended (in the short real-loopback runs, 3 s after the brownout, that is too short to tell).\n\n", r.wall.Seconds())

	fmt.Fprintf(b, "### Retry storm\n\n")
	fmt.Fprintf(b, "20 servers at 20 ms (1,000 calls/s) under 800 requests/s; from 10 s to 20 s, 2,400/s; then 800/s again. Every retrying contender bounds each attempt at 250 ms. "+
		"Amplification is attempts at the dependency per request over the spike and the 10 s after it; goodput is requests/s that succeeded within their deadline.\n\n")
	b.WriteString(overload.StormTable(r.storm).Markdown())
	fmt.Fprintf(b, "\n![Goodput over time in the retry storm](docs/overload-storm.svg)\n\nOn real loopback (2 s, a 2 s spike, 4 s after):\n\n")
	b.WriteString(overload.StormTable(r.realStorm).Markdown())

	fmt.Fprintf(b, "\n### Brownout\n\n")
	fmt.Fprintf(b, "40 servers at 10 ms (4,000 calls/s) under 3,200 requests/s; from 20 s to 80 s, 10 servers (1,000/s). "+
		"Goodput and latencies of the healthy phase (5–20 s), the brownout (25–80 s) and after (90–100 s); the limit is the range during the brownout. "+
		"Ours is a bulkhead under a ceiling of 200 whose limit `adaptive.Gradient` sets with its defaults, and a CoDel queue of 200 with a 20 ms interval (2× the healthy latency; CoDel's default 100 ms gave an 85 ms p99 on real loopback).\n\n")
	b.WriteString(overload.BrownoutTable(r.brownout).Markdown())
	fmt.Fprintf(b, "\n![Goodput and limit over time in the brownout](docs/overload-brownout.svg)\n\nOn real loopback (3 s healthy, 9 s sick, 3 s recovered; figures from the same share of each phase):\n\n")
	b.WriteString(overload.BrownoutTable(r.realBrownout).Markdown())

	fmt.Fprintf(b, "\n### Tail\n\n")
	fmt.Fprintf(b, "A dependency that never queues; 98%% of its calls take 8–12 ms, 2%% take 200 ms. 500 requests/s for 60 s; the first 10 s, while delays are learnt, are left out. Extra load is attempts at the dependency per request, minus one.\n\n")
	b.WriteString(overload.TailTable(r.tail).Markdown())
	fmt.Fprintf(b, "\n![p99 latency of each second in the tail scenario](docs/overload-tail.svg)\n\nOn real loopback (6 s):\n\n")
	b.WriteString(overload.TailTable(r.realTail).Markdown())
}
