package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watertight-go/watertight/poolwait"
)

// Results are both runs of a scenario.
type Results struct {
	Duration time.Duration `json:"duration_ns"`
	Rate     int           `json:"rate"`
	Slowness time.Duration `json:"slowness_ns"`
	// ClientTimeout is when the load generator gives up on a request: a
	// latency of exactly this long is a request that never came back.
	ClientTimeout time.Duration `json:"client_timeout_ns"`
	Database      string        `json:"database"`
	Runs          []RunResult   `json:"runs"`
	Summary       string        `json:"summary"`
}

// RunResult is one run: unprotected or protected.
type RunResult struct {
	Mode       string           `json:"mode"`
	Endpoints  []EndpointResult `json:"endpoints"`
	DBWaits    uint64           `json:"db_checkouts_waited"`
	DBMeanWait time.Duration    `json:"db_mean_wait_ns"`
	// DBWaitP99 is the p99 of every checkout's wait for a database
	// connection, zero waits included: pgx's tracer measures each one;
	// for database/sql, which tells only a count and a total, the API
	// times its checkouts itself.
	DBWaitP99      time.Duration `json:"db_wait_p99_ns"`
	PeakGoroutines int           `json:"peak_goroutines"`
	// Timeline is the healthy endpoint's p99 latency in each half second
	// of the run, by when the requests were sent.
	Timeline []time.Duration `json:"healthy_p99_timeline_ns"`
	// BreakerOpenedAfter is how long after the external API turned slow
	// the protected run's breaker first opened; -1 if it never did (and in
	// the unprotected run, which has none).
	BreakerOpenedAfter time.Duration `json:"breaker_opened_after_slow_ns"`
	// Ledgers are the log lines of the run's first slow request of each
	// endpoint, and of the first request an open breaker refused, with
	// where their time went.
	Ledgers []string `json:"ledgers"`

	database string // what the database is
}

// EndpointResult is what the load generator saw of one kind of endpoint.
type EndpointResult struct {
	Endpoint    string        `json:"endpoint"`
	Requests    int           `json:"requests"`
	OK          int           `json:"ok"`
	SuccessRate float64       `json:"success_rate"`
	P50         time.Duration `json:"p50_ns"`
	P95         time.Duration `json:"p95_ns"`
	P99         time.Duration `json:"p99_ns"`
	Status503   int           `json:"status_503"`
	Failed      int           `json:"failed"` // other statuses, errors and client timeouts
}

const timelineStep = 500 * time.Millisecond

// Run runs the scenario unprotected, then protected.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	res := &Results{Duration: cfg.Duration, Rate: cfg.Rate, Slowness: cfg.Slowness, ClientTimeout: cfg.ClientTimeout}
	for _, protected := range []bool{false, true} {
		r, err := runOnce(ctx, cfg, protected)
		if err != nil {
			return nil, err
		}
		res.Database = r.database
		res.Runs = append(res.Runs, *r)
	}
	res.Summary = summarize(res.Runs[0], res.Runs[1])
	return res, nil
}

// request is one request the load generator sent.
type request struct {
	healthy bool
	sent    time.Duration // since the run started
	took    time.Duration
	status  int // 0: no response (error or client timeout)
}

func runOnce(ctx context.Context, cfg Config, protected bool) (*RunResult, error) {
	mode := "unprotected"
	if protected {
		mode = "protected"
	}
	db, err := openDB(ctx, cfg.DB, cfg.DSN)
	if err != nil {
		return nil, err
	}
	defer db.close()
	poolBefore, waitsBefore := db.pool().PoolStats(), db.waits()

	ext, err := startExternal(cfg.Slowness)
	if err != nil {
		return nil, err
	}
	defer ext.close()

	a, err := newAPI(db, ext.url, protected)
	if err != nil {
		return nil, err
	}
	defer a.close()
	srv, url, err := serve(a.handler(), cfg.Addr)
	if err != nil {
		return nil, err
	}
	if a.dashboard != nil && cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "dashboard of the protected run, live while it runs: %s%s\n", url, dashboardPath)
	}

	var peak atomic.Int64
	watch, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for t := time.NewTicker(50 * time.Millisecond); ; {
			if n := int64(runtime.NumGoroutine()); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-watch.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()

	reqs := generateLoad(ctx, cfg, url, mode, ext, db.pool())

	stopWatch()
	<-watched
	ext.stopWaiting() // let slow calls still in flight end now
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return nil, fmt.Errorf("shutting the API down: %w", err)
	}

	st := db.pool().PoolStats()
	r := &RunResult{
		Mode:           mode,
		Endpoints:      []EndpointResult{summarizeEndpoint("healthy", reqs, true), summarizeEndpoint("enrich", reqs, false)},
		DBWaits:        st.Waits - poolBefore.Waits,
		DBWaitP99:      db.waits().Sub(waitsBefore).Quantile(0.99),
		database:       db.describe(),
		PeakGoroutines: int(peak.Load()),
		Timeline:       timeline(reqs, cfg.Duration),

		BreakerOpenedAfter: -1,
		Ledgers:            a.ledgers.Lines(),
	}
	if r.DBWaits > 0 {
		r.DBMeanWait = (st.WaitTotal - poolBefore.WaitTotal) / time.Duration(r.DBWaits)
	}
	if opened, since := a.breakerOpened.Load(), ext.slowSince.Load(); opened != 0 && since != 0 {
		r.BreakerOpenedAfter = time.Duration(opened - since)
	}
	return r, nil
}

// generateLoad sends cfg.Rate requests a second for cfg.Duration, each
// on its own goroutine (an open loop, like real users), and waits for
// their answers or their timeouts.
func generateLoad(ctx context.Context, cfg Config, url, mode string, ext *external, db poolwait.Pool) []request {
	tr := &http.Transport{MaxIdleConnsPerHost: 512}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: cfg.ClientTimeout}

	var (
		mu         sync.Mutex
		reqs       []request
		wg         sync.WaitGroup
		healthyOut atomic.Int64 // healthy requests sent and not answered yet
	)
	start := time.Now()
	slowAt := time.Duration(float64(cfg.Duration) * cfg.SlowAfter)
	tick := time.NewTicker(time.Second / time.Duration(cfg.Rate))
	defer tick.Stop()
	nextReport := time.Second
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		sent := time.Since(start)
		if sent >= cfg.Duration || ctx.Err() != nil {
			break
		}
		if sent >= slowAt {
			ext.turnSlow()
		}
		healthy := float64(i%100) < cfg.HealthyShare*100
		path := "/enrich?id="
		if healthy {
			path = "/item?id="
		}
		if healthy {
			healthyOut.Add(1)
		}
		wg.Go(func() {
			if healthy {
				defer healthyOut.Add(-1)
			}
			r := request{healthy: healthy, sent: sent}
			t0 := time.Now()
			resp, err := client.Get(url + path + strconv.Itoa(1+i%1000))
			if err == nil {
				drain(resp)
				r.status = resp.StatusCode
			}
			r.took = time.Since(t0)
			mu.Lock()
			reqs = append(reqs, r)
			mu.Unlock()
		})
		if cfg.Progress != nil && sent >= nextReport {
			nextReport += time.Second
			mu.Lock()
			answered := latencies(reqs, true, sent-time.Second)
			mu.Unlock()
			p99 := "none" // nothing came back in the last second: not a p99 of 0
			if len(answered) > 0 {
				p99 = round(percentile(answered, 0.99))
			}
			st := db.PoolStats()
			fmt.Fprintf(cfg.Progress, "\r%-11s %3.0fs/%.0fs  external API slow: %-5v  healthy: p99 of last second's answers %-8s waiting %-4d  db connections in use %d/%d  goroutines %-5d",
				mode, sent.Seconds(), cfg.Duration.Seconds(), ext.slow.Load(), p99, healthyOut.Load(), st.InUse, st.Max, runtime.NumGoroutine())
		}
	}
	wg.Wait()
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "\r%-11s done: %d requests%110s\n", mode, len(reqs), "")
	}
	return reqs
}

func serve(h http.Handler, addr string) (*http.Server, string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return srv, "http://" + ln.Addr().String(), nil
}

func summarizeEndpoint(name string, reqs []request, healthy bool) EndpointResult {
	e := EndpointResult{Endpoint: name}
	var lat []time.Duration
	for _, r := range reqs {
		if r.healthy != healthy {
			continue
		}
		e.Requests++
		lat = append(lat, r.took)
		switch r.status {
		case http.StatusOK:
			e.OK++
		case http.StatusServiceUnavailable:
			e.Status503++
		default:
			e.Failed++
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	e.P50, e.P95, e.P99 = percentile(lat, 0.5), percentile(lat, 0.95), percentile(lat, 0.99)
	if e.Requests > 0 {
		e.SuccessRate = float64(e.OK) / float64(e.Requests)
	}
	return e
}

// latencies returns the sorted latencies of the healthy (or not)
// requests sent at or after from.
func latencies(reqs []request, healthy bool, from time.Duration) []time.Duration {
	var lat []time.Duration
	for _, r := range reqs {
		if r.healthy == healthy && r.sent >= from {
			lat = append(lat, r.took)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

// percentile of sorted latencies, by the nearest-rank method.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func timeline(reqs []request, d time.Duration) []time.Duration {
	out := make([]time.Duration, int((d+timelineStep-1)/timelineStep))
	for i := range out {
		from := time.Duration(i) * timelineStep
		var lat []time.Duration
		for _, r := range reqs {
			if r.healthy && r.sent >= from && r.sent < from+timelineStep {
				lat = append(lat, r.took)
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		out[i] = percentile(lat, 0.99)
	}
	return out
}

// drain reads and closes a response body, so its connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}
