package browsertest_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/dashboard"
	"github.com/watertight-go/watertight/dashboard/browsertest"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/internal/fakesql"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// chromium returns the browser's path, or skips the test saying why. When
// $WATERTIGHT_REQUIRE_BROWSER is set (.ci/run sets it once it installed
// the browser), a missing browser fails the test instead.
func chromium(t *testing.T) string {
	p, err := browsertest.ChromiumPath()
	if err != nil {
		if os.Getenv("WATERTIGHT_REQUIRE_BROWSER") != "" {
			t.Fatal(err)
		}
		t.Skip("SKIPPED, the dashboard was not tested in a browser: ", err)
	}
	return p
}

// live is a service's instances, really in use, and a server of their
// dashboard on loopback.
type live struct {
	srv      *httptest.Server
	url      string
	payments watertight.Policy
	jobs     *pool.Pool
	orders   *sql.DB
	leaks    chan poolwait.Leak
	ids      []string
}

func newLive(t *testing.T) *live {
	payments := watertight.Chain(
		timeout.MustNew(timeout.Config{Name: "payments", Duration: time.Second}),
		retry.MustNew(retry.Config{Name: "payments", MaxAttempts: 1}),
		breaker.MustNew(breaker.Config{Name: "payments", WindowCalls: 5, MinCalls: 5}),
		bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 8}),
	)
	search := bulkhead.MustNew(bulkhead.Config{Name: `search <script>alert(1)</script>`, MaxConcurrent: 4})
	jobs := pool.MustNew(pool.Config{Name: "jobs", Workers: 2, QueueSize: 4})
	t.Cleanup(func() { jobs.Close(context.Background()) })
	for range 3 {
		require.NoError(t, payments.Do(context.Background(), func(context.Context) error { return nil }))
		require.NoError(t, search.Do(context.Background(), func(context.Context) error { return nil }))
		require.NoError(t, jobs.Do(context.Background(), func(context.Context) error { return nil }))
	}
	// A database/sql pool, whose connections are reported when held past
	// 50 ms.
	leaks := make(chan poolwait.Leak, 2)
	orders, ordersPool, err := poolwait.OpenDB(fakesql.Timed{}, poolwait.ConnectorConfig{Name: "orders", LeakAfter: 50 * time.Millisecond, OnLeak: func(l poolwait.Leak) { leaks <- l }})
	require.NoError(t, err)
	t.Cleanup(func() { orders.Close() })
	orders.SetMaxOpenConns(4)
	_, err = orders.ExecContext(context.Background(), "select")
	require.NoError(t, err)
	d, err := dashboard.New(payments, search, jobs, ordersPool)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/debug/watertight/", d)
	// A service's endpoint, served with a ledger offered to the dashboard:
	// its slowest requests show on the page.
	work, err := httpguard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = payments.Do(r.Context(), func(context.Context) error { time.Sleep(30 * time.Millisecond); return nil }) // the dependency's work
		_ = search.Do(r.Context(), func(context.Context) error { return nil })
	}), watertight.Chain(), httpguard.WithLedger(httpguard.LedgerConfig{Sink: d}))
	require.NoError(t, err)
	mux.Handle("/checkout", work)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &live{
		srv: srv, url: srv.URL + "/debug/watertight/", payments: payments, jobs: jobs, orders: orders, leaks: leaks,
		ids: []string{
			"pool/jobs", "connection_pool/orders",
			"timeout/payments", "retry/payments", "budget/payments", "breaker/payments", "bulkhead/payments",
			`bulkhead/search <script>alert(1)</script>`,
		},
	}
}

// slowRequest makes a request to the service's endpoint, which the
// dashboard then shows among the slowest.
func (l *live) slowRequest(t *testing.T) {
	resp, err := l.srv.Client().Get(l.srv.URL + "/checkout")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
}

// leakConnection takes a connection of the orders pool and keeps it,
// until the pool reports it held past its threshold; the returned func
// gives it back.
func (l *live) leakConnection(t *testing.T) func() {
	conn, err := l.orders.Conn(context.Background())
	require.NoError(t, err)
	require.NoError(t, conn.PingContext(context.Background()))
	<-l.leaks
	return func() {
		require.NoError(t, conn.Close())
		<-l.leaks // the report that it came back
	}
}

// tripBreaker fails payments calls until its breaker opens.
func (l *live) tripBreaker(t *testing.T) {
	errDown := errors.New("payments are down")
	for range 5 {
		err := l.payments.Do(context.Background(), func(context.Context) error { return errDown })
		if errors.Is(err, breaker.ErrOpen) {
			return
		}
		require.ErrorIs(t, err, errDown)
	}
	t.Fatal("the breaker did not open after 5 failures")
}

// watch records what a tab does that the page must never do: write an
// error or a warning to its console, throw, or ask anything of a server
// other than its own.
type watch struct {
	mu       sync.Mutex
	problems []string
	requests []string
}

func (w *watch) listen(t *testing.T, ctx context.Context) {
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				w.problems = append(w.problems, "console "+string(ev.Type))
			}
		case *runtime.EventExceptionThrown:
			w.problems = append(w.problems, "exception: "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				w.problems = append(w.problems, "log "+string(ev.Entry.Level)+": "+ev.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			w.requests = append(w.requests, ev.Request.URL)
		}
	}))
}

func (w *watch) check(t *testing.T, origin string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Empty(t, w.problems, "console errors, warnings or exceptions")
	require.NotEmpty(t, w.requests)
	for _, u := range w.requests {
		assert.True(t, strings.HasPrefix(u, origin+"/") || strings.HasPrefix(u, "data:"), "a request left the page's server: %s", u)
	}
}

func cardIDs(t *testing.T, ctx context.Context) []string {
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("article[data-id]")].map((e) => e.dataset.id)`))
	require.NoError(t, err)
	return ids
}

func TestTheDashboardInABrowser(t *testing.T) {
	path := chromium(t)
	l := newLive(t)
	ctx, cancel := browsertest.Browser(path, t.TempDir())
	defer cancel()
	var w watch
	require.NoError(t, chromedp.Do(ctx)) // start the browser and its first tab
	w.listen(t, ctx)

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(l.url)))
	assert.ElementsMatch(t, l.ids, cardIDs(t, ctx), "every card")
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("h1").textContent`))
	require.NoError(t, err)
	assert.Equal(t, "watertight", title)
	ran, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.dataset.refresh === "on"`))
	require.NoError(t, err)
	assert.True(t, ran, "the page's script runs")
	script, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.scripts.length`))
	require.NoError(t, err)
	assert.Equal(t, 1, script, "a name with <script> in it is text, not a script")

	// Open the breaker; the page, refreshing itself, shows it within 2 s,
	// without reloading (the mark survives).
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.stillThisPage = true`))
	require.NoError(t, err)
	l.tripBreaker(t)
	start := time.Now()
	within, cancelWait := context.WithTimeout(ctx, 2*time.Second)
	defer cancelWait()
	err = chromedp.Do(within, chromedp.WaitVisible(chromedp.CSS(`article[data-id="breaker/payments"].s-refusing`)))
	require.NoError(t, err, "the open breaker did not show within 2 s")
	t.Logf("the page showed the open breaker %v after it opened", time.Since(start).Round(time.Millisecond))
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('article[data-id="breaker/payments"] [data-f=state]').textContent`))
	require.NoError(t, err)
	assert.Equal(t, "open", state)
	summary, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("summary").textContent`))
	require.NoError(t, err)
	assert.Contains(t, summary, "payments")
	assert.Contains(t, summary, "left of")
	still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.stillThisPage === true`))
	require.NoError(t, err)
	assert.True(t, still, "the page updated itself; it did not reload")

	// A connection of the orders pool is held past its leak threshold:
	// within 2 s its card turns to "leaking", its open leaks in red, and
	// back when the connection comes back.
	giveBack := l.leakConnection(t)
	leaking := `article[data-id="connection_pool/orders"].s-warn [data-f="pool.open_leaks"].alert`
	within2, cancelWait2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancelWait2()
	require.NoError(t, chromedp.Do(within2, chromedp.WaitVisible(chromedp.CSS(leaking))), "the leak did not show within 2 s")
	leaks, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('`+leaking+`').textContent`))
	require.NoError(t, err)
	assert.Equal(t, "1", leaks)
	red, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('`+leaking+`')).color`))
	require.NoError(t, err)
	assert.Equal(t, "rgb(160, 0, 28)", red, "open leaks in red")
	poolState, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('article[data-id="connection_pool/orders"] [data-f=state]').textContent`))
	require.NoError(t, err)
	assert.Equal(t, "leaking", poolState)

	// WCAG AA: every piece of text has a contrast of at least 4.5:1 with
	// the background it is drawn on, in every status the page shows now.
	low, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](contrastCheck))
	require.NoError(t, err)
	assert.Empty(t, low, "text below WCAG AA contrast")
	statuses, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...new Set([...document.querySelectorAll("article[data-id]")].map((e) => e.className))].sort()`))
	require.NoError(t, err)
	assert.Equal(t, []string{"card s-ok", "card s-refusing", "card s-warn"}, statuses, "the check saw every status")

	giveBack()
	within3, cancelWait3 := context.WithTimeout(ctx, 2*time.Second)
	defer cancelWait3()
	require.NoError(t, chromedp.Do(within3, chromedp.WaitVisible(chromedp.CSS(`article[data-id="connection_pool/orders"].s-ok [data-f="pool.open_leaks"]:not(.alert)`))),
		"the returned connection did not show within 2 s")

	// A slow request shows among the slowest of the last minute within 2
	// s, with its breakdown, without a reload.
	l.slowRequest(t)
	within, cancelWait = context.WithTimeout(ctx, 2*time.Second)
	defer cancelWait()
	err = chromedp.Do(within, chromedp.WaitVisible(chromedp.CSS(`#slowest .parts li`)))
	require.NoError(t, err, "the slow request did not show within 2 s")
	slow, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("slowest").textContent`))
	require.NoError(t, err)
	assert.Contains(t, slow, "GET /checkout")
	assert.Contains(t, slow, "payments refused", "its breakdown: the open breaker refused it")
	still, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.stillThisPage === true`))
	require.NoError(t, err)
	assert.True(t, still, "the list updated itself; the page did not reload")
	low, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](contrastCheck))
	require.NoError(t, err)
	assert.Empty(t, low, "text below WCAG AA contrast, with the slowest requests shown")

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	out := filepath.Join(t.ArtifactDir(), "dashboard.png")
	require.NoError(t, os.WriteFile(out, shot, 0o644))
	t.Logf("screenshot: %s (%d bytes; go test -artifacts keeps it)", out, len(shot))

	w.check(t, l.srv.URL)
}

func TestTheDashboardWithJavaScriptOff(t *testing.T) {
	path := chromium(t)
	l := newLive(t)
	l.tripBreaker(t)
	l.slowRequest(t)
	giveBack := l.leakConnection(t)
	defer giveBack()
	ctx, cancel := browsertest.Browser(path, t.TempDir())
	defer cancel()
	var w watch
	require.NoError(t, chromedp.Do(ctx))
	w.listen(t, ctx)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
		chromedp.Navigate(l.url),
	))
	// Evaluate runs through the DevTools protocol, which still works with
	// the page's scripts off: it reads the server-rendered snapshot.
	assert.ElementsMatch(t, l.ids, cardIDs(t, ctx), "every card, server-rendered")
	open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('article[data-id="breaker/payments"]').classList.contains("s-refusing")`))
	require.NoError(t, err)
	assert.True(t, open, "the open breaker, server-rendered")
	ran, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`"refresh" in document.documentElement.dataset`))
	require.NoError(t, err)
	assert.False(t, ran, "the page's script did not run")
	slow, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("slowest").textContent`))
	require.NoError(t, err)
	assert.Contains(t, slow, "GET /checkout", "the slowest requests, server-rendered")
	leaks, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('article[data-id="connection_pool/orders"].s-warn [data-f="pool.open_leaks"].alert').textContent`))
	require.NoError(t, err, "the leaking pool, server-rendered")
	assert.Equal(t, "1", leaks)
	w.check(t, l.srv.URL)
}

// contrastCheck lists the elements whose own text has less than 4.5:1
// contrast (WCAG 2 relative luminance) with the first opaque background
// behind them.
const contrastCheck = `(() => {
  const rgb = (c) => c.match(/[\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (e) => {
    for (; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const e of document.body.querySelectorAll("*")) {
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || e.closest("script, style") || e.tagName.toLowerCase() === "title") continue; // an SVG title is a tooltip, not text on the page
    const a = lum(rgb(getComputedStyle(e).color)), b = lum(background(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(e.tagName + "." + e.className + ": " + ratio.toFixed(2));
  }
  return low;
})()`
