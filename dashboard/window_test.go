package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/dashboard"
	"github.com/watertight-go/watertight/timeout"
)

// hold makes one call wait d for b's slot, by holding the slot for d.
func waitOnce(t *testing.T, b *bulkhead.Bulkhead, d time.Duration) {
	release, err := b.Acquire(context.Background())
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		_ = b.Do(context.Background(), func(context.Context) error { return nil })
		close(done)
	}()
	<-time.After(d)
	release()
	<-done
}

// A window of few waits reports its own p99, not the all-time longest
// wait: a 10 s wait 65 s ago, then five instant ones in the last minute,
// give a p99 of 0 in the window and in each point.
func TestAWindowOfFewWaitsHasItsOwnP99(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 1, MaxQueue: 1})
		d, err := dashboard.New(b)
		require.NoError(t, err)
		waitOnce(t, b, 10*time.Second)
		snapshot(t, d)
		<-time.After(65 * time.Second)
		snapshot(t, d)
		for range 5 {
			<-time.After(time.Second)
			_ = b.Do(context.Background(), func(context.Context) error { return nil })
			snapshot(t, d)
		}
		c := card(t, snapshot(t, d), "bulkhead/db")
		require.NotNil(t, c.Wait)
		assert.Equal(t, uint64(5), c.Wait.Count, "the five waits of the window")
		assert.Zero(t, c.Wait.P99MS, "their p99, not the 10 s wait of 65 s ago")
		for _, p := range c.Wait.Points {
			assert.Zero(t, p.P99MS)
		}
	})
}

// The first read after a quiet spell (nobody read the page for five
// minutes) shows its rates over those five minutes, as such, and judges
// the card by them: a timeout that cut 52 calls meanwhile is not "ok".
func TestTheFirstReadAfterAQuietSpell(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Name: "api", Duration: 10 * time.Millisecond})
		d, err := dashboard.New(to) // a first sample: the baseline
		require.NoError(t, err)
		for range 52 {
			_ = to.Do(context.Background(), func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		}
		<-time.After(5*time.Minute - 520*time.Millisecond)
		c := card(t, snapshot(t, d), "timeout/api")
		assert.Equal(t, 300.0, c.Rates.WindowSeconds, "the window since the last sample, as long as it is")
		assert.InDelta(t, 52.0/300, c.Rates.Timeouts, 1e-9)
		assert.NotEqual(t, "ok", c.Status, "it cut 52 calls in that window")
		require.NotNil(t, c.Wait)
		assert.Equal(t, uint64(52), c.Wait.Count)
	})
}

// An instance has a first sample when it is added: the first read of the
// page, 10 s later, has rates over those 10 s.
func TestAddTakesABaseline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.MustNew(bulkhead.Config{Name: "db", MaxConcurrent: 1})
		for range 100 {
			_ = b.Do(context.Background(), func(context.Context) error { return nil }) // before Add: not in any window
		}
		d := new(dashboard.Dashboard)
		require.NoError(t, d.Add(b))
		for range 20 {
			_ = b.Do(context.Background(), func(context.Context) error { return nil })
		}
		<-time.After(10 * time.Second)
		c := card(t, snapshot(t, d), "bulkhead/db")
		assert.Equal(t, 10.0, c.Rates.WindowSeconds)
		assert.Equal(t, 2.0, c.Rates.Calls)
		assert.Equal(t, uint64(20), c.Wait.Count)
	})
}

// Every answer is no-store, the refusals of a wrong method or format
// included.
func TestEveryAnswerIsNoStore(t *testing.T) {
	d := new(dashboard.Dashboard)
	for _, tc := range []struct{ method, target string }{{http.MethodPost, "/"}, {http.MethodGet, "/?format=xml"}, {http.MethodGet, "/"}} {
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"), "%s %s: %d", tc.method, tc.target, rec.Code)
	}
}
