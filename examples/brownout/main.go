// Command brownout reproduces two incidents that static protection and
// naive retries do not survive, side by side with the fix, in one process
// on real time (under a minute, only Go needed):
//
//		go -C examples run ./brownout
//
//	  - A retry storm: a dependency at 80% of its capacity gets a spike of
//	    3× its load; naive retries (a loop with cenkalti/backoff, or
//	    failsafe-go's retrypolicy) multiply the overload and keep it after
//	    the spike has gone, while watertight's chain (a shared retry budget,
//	    a breaker, a bulkhead, deadlines) keeps serving what the dependency
//	    can and is back at once.
//	  - A brownout: the dependency loses three quarters of its capacity for
//	    a while. A bulkhead sized for the healthy day lets a queue build
//	    inside it; one sized for the bad day starves the healthy day; an
//	    adaptive bulkhead (adaptive.Gradient with a CoDel queue) follows it
//	    both ways.
//
// Every contender of a scenario runs at once, each on a dependency of its
// own (package overload of the benchmarks module, where the same
// scenarios also run, longer, in simulated time). -json prints the
// figures as JSON; -plot chart.svg writes the goodput over time.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/watertight-go/watertight/benchmarks/overload"
)

// The scenarios run at a fraction of their full length: storm 5 s, a 5 s
// spike, 10 s after; brownout 6 s healthy, 18 s sick, 6 s recovered.
const (
	stormScale    = 0.5
	brownoutScale = 0.3
)

// Results is what -json prints.
type Results struct {
	Storm    []overload.StormFigures    `json:"retry_storm"`
	Brownout []overload.BrownoutFigures `json:"brownout"`
}

func main() {
	jsonOut := flag.Bool("json", false, "print the figures as JSON instead of tables")
	plot := flag.String("plot", "", "write an SVG chart of goodput over time (and the brownout's limits) to this file")
	flag.Parse()

	progress := func(format string, args ...any) {
		if !*jsonOut {
			fmt.Fprintf(os.Stderr, format, args...)
		}
	}
	storm := overload.RetryStorm().Scaled(stormScale)
	progress("retry storm: %d contenders at once, %v ...\n", len(stormContenders()), length(storm))
	stormRuns := storm.PlayAll(stormContenders(), overload.Direct)
	brownout := overload.Brownout().Scaled(brownoutScale)
	progress("brownout: %d contenders at once, %v ...\n", len(brownoutContenders()), length(brownout))
	brownoutRuns := brownout.PlayAll(brownoutContenders(), overload.Direct)

	var res Results
	for _, r := range stormRuns {
		res.Storm = append(res.Storm, overload.Storm(r, stormScale))
	}
	for _, r := range brownoutRuns {
		res.Brownout = append(res.Brownout, overload.BrownoutOf(r, brownoutScale, overload.Offered))
	}

	if *jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fail(err)
		}
	} else {
		fmt.Printf("\nRetry storm: 1,000 calls/s of capacity, 800 requests/s, 2,400/s from %v to %v; 1 s deadlines, 250 ms attempts\n\n", at(storm, 1), at(storm, 2))
		fmt.Print(overload.StormTable(res.Storm).Text())
		fmt.Printf("\nBrownout: 4,000 calls/s of capacity, 1,000/s from %v to %v; 3,200 requests/s\n\n", at(brownout, 1), at(brownout, 2))
		fmt.Print(overload.BrownoutTable(res.Brownout).Text())
		fmt.Println("\n(goodput: requests a second that succeeded within their deadline; amplification: calls at the dependency per request)")
	}
	if *plot != "" {
		svg := overload.SVG("Goodput over time: the retry storm, then the brownout",
			overload.Panel{Title: "retry storm: goodput", Unit: "/s", Series: overload.GoodputSeries(stormRuns), Marks: []time.Duration{at(storm, 1), at(storm, 2)}},
			overload.Panel{Title: "brownout: goodput", Unit: "/s", Series: overload.GoodputSeries(brownoutRuns), Marks: []time.Duration{at(brownout, 1), at(brownout, 2)}},
			overload.Panel{Title: "brownout: concurrency limit", Series: overload.LimitSeries(brownoutRuns), Marks: []time.Duration{at(brownout, 1), at(brownout, 2)}},
		)
		if err := os.WriteFile(*plot, svg, 0o644); err != nil {
			fail(err)
		}
		if !*jsonOut {
			fmt.Printf("\nchart: %s\n", *plot)
		}
	}
}

func stormContenders() []overload.Contender {
	all := overload.StormContenders()
	return []overload.Contender{all[0], all[1], all[2], all[len(all)-1]} // no retries, the plain loop, failsafe-go's defaults, ours
}

func brownoutContenders() []overload.Contender {
	all := overload.BrownoutContenders()
	return all[1:] // the static sizes, failsafe-go's adaptive limiter, ours
}

// at is when phase i of s starts.
func at(s overload.Scenario, i int) time.Duration {
	var d time.Duration
	for _, p := range s.Phases[:i] {
		d += p.Duration
	}
	return d
}

func length(s overload.Scenario) time.Duration { return at(s, len(s.Phases)) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "brownout:", err)
	os.Exit(1)
}
