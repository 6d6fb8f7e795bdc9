package realclients_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/timeout"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	goleak.VerifyTestMain(m)
}

func guarded(t *testing.T, next http.Handler, p watertight.Policy, opts ...httpguard.HandlerOption) http.Handler {
	t.Helper()
	h, err := httpguard.Handler(next, p, opts...)
	require.NoError(t, err)
	return h
}

// gin's Context.Stream asks the writer for http.CloseNotifier, and used to
// panic through httpguard.Handler.
func TestGinStream(t *testing.T) {
	r := gin.New()
	r.GET("/count", func(c *gin.Context) {
		n := 0
		c.Stream(func(w io.Writer) bool {
			_, _ = io.WriteString(w, strings.Repeat("x", n+1)+"\n")
			n++
			return n < 3
		})
	})
	srv := httptest.NewServer(guarded(t, r, bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 4})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/count")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "x\nxx\nxxx\n", string(body))
}

// gin's own writer, its file serving (io.ReaderFrom) and its JSON through
// the guard, and a refusal answered before gin ever runs.
func TestGinThroughTheGuard(t *testing.T) {
	r := gin.New()
	r.GET("/json", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })
	r.GET("/reader", func(c *gin.Context) {
		c.DataFromReader(http.StatusOK, 5, "text/plain", strings.NewReader("hello"), nil)
	})
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	srv := httptest.NewServer(guarded(t, r, b))
	defer srv.Close()
	for path, want := range map[string]string{"/json": `{"ok":true}`, "/reader": "hello"} {
		resp, err := srv.Client().Get(srv.URL + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		assert.Equal(t, want, string(body))
	}
	release, err := b.Acquire(context.Background())
	require.NoError(t, err)
	resp, err := srv.Client().Get(srv.URL + "/json")
	release()
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
}

// A websocket outlives a request timeout: through the policy it is cut at
// the deadline; exempt, it carries messages for as long as it is open.
func TestWebsocket(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, msg); err != nil {
				return
			}
		}
	})
	exchange := func(h http.Handler) (echoed int) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, srv.URL, nil)
		require.NoError(t, err)
		defer c.CloseNow()
		for i := range 5 {
			if err := c.Write(ctx, websocket.MessageText, []byte{'a' + byte(i)}); err != nil {
				return echoed
			}
			if _, msg, err := c.Read(ctx); err != nil || string(msg) != string(rune('a'+i)) {
				return echoed
			}
			echoed++
			<-time.After(20 * time.Millisecond) // a conversation, past the policy's 30 ms
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
		return echoed
	}
	policy := func() watertight.Policy { return timeout.MustNew(timeout.Config{Duration: 30 * time.Millisecond}) }
	assert.Less(t, exchange(guarded(t, echo, policy())), 5, "the policy's timeout ends the websocket")
	assert.Equal(t, 5, exchange(guarded(t, echo, policy(), httpguard.WithExempt(httpguard.IsStream))))
}

// A real server-sent-events reader (line by line, as EventSource reads)
// on an exempt stream gets every event, past the policy's deadline.
func TestServerSentEvents(t *testing.T) {
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range 4 {
			_, _ = io.WriteString(w, "event: tick\ndata: "+string(rune('0'+i))+"\n\n")
			_ = rc.Flush()
			<-time.After(20 * time.Millisecond)
		}
	})
	srv := httptest.NewServer(guarded(t, events, timeout.MustNew(timeout.Config{Duration: 30 * time.Millisecond}), httpguard.WithExempt(httpguard.IsStream)))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var data []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
		}
	}
	assert.Equal(t, []string{"0", "1", "2", "3"}, data)
}

// go-retryablehttp retries on its own, through a Transport whose policy
// hedges: every request of its goes out under the hedge, failed
// responses come back to it (it decides on them), and no response body is
// left open.
func TestRetryablehttpThroughAHedgedTransport(t *testing.T) {
	var n atomic.Int32
	var open sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		open.Add(1)
		defer open.Done()
		switch i := n.Add(1); {
		case i%4 == 1:
			<-time.After(20 * time.Millisecond) // slow: hedged
			_, _ = io.WriteString(w, "slow")
		case i%4 == 2:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	h := hedge.MustNew(hedge.Config{Delay: 5 * time.Millisecond, Budget: budget.MustNew(budget.Config{Ratio: 10})})
	b := breaker.MustNew(breaker.Config{})
	rt, err := httpguard.Transport(srv.Client().Transport, watertight.Chain(h, b))
	require.NoError(t, err)
	client := retryablehttp.NewClient()
	client.HTTPClient = &http.Client{Transport: rt}
	client.RetryWaitMin, client.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	client.Logger = nil
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				resp, err := client.Get(srv.URL)
				if !assert.NoError(t, err) {
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				assert.Contains(t, []string{"ok", "slow"}, string(body))
			}
		})
	}
	wg.Wait()
	open.Wait()
	srv.CloseClientConnections()
	assert.Positive(t, h.Stats().Hedges)
}
