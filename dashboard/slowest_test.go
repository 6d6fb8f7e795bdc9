package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/dashboard"
	"github.com/watertight-go/watertight/ledger"
)

// offer makes a request of elapsed that ended now, with one wait.
func offer(d *dashboard.Dashboard, path string, elapsed time.Duration) {
	ctx, l := ledger.Start(context.Background())
	ledger.Record(ctx, ledger.Entry{Name: "db", Kind: ledger.Wait, Duration: elapsed / 2})
	l.Finish()
	d.Offer(ledger.Request{Method: http.MethodGet, Path: path, Status: http.StatusOK, Start: time.Now().Add(-elapsed), Elapsed: elapsed, Ledger: l})
}

// The dashboard keeps the SlowestKept slowest requests of the last
// minute, slowest first; a request leaves the list a minute after it
// finished, and a faster one takes its place.
func TestSlowestRequestsOfTheLastMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := new(dashboard.Dashboard)
		assert.Empty(t, snapshot(t, d).Slowest)
		for i := range 30 {
			offer(d, fmt.Sprint("/r", i), time.Duration(i+1)*time.Millisecond)
		}
		s := snapshot(t, d).Slowest
		require.Len(t, s, dashboard.SlowestKept)
		assert.Equal(t, "/r29", s[0].Path)
		assert.Equal(t, 30.0, s[0].ElapsedMS)
		assert.Equal(t, "/r20", s[9].Path)
		assert.Equal(t, []dashboard.Part{{Name: "db", Kind: "wait", MS: 15, Count: 1}}, s[0].Parts)

		<-time.After(30 * time.Second)
		offer(d, "/late", 25*time.Millisecond)
		assert.Equal(t, "/late", snapshot(t, d).Slowest[5].Path, "slower than the 6th")

		<-time.After(31 * time.Second) // the first thirty left the window; /late has not
		offer(d, "/fast", time.Millisecond)
		s = snapshot(t, d).Slowest
		require.Len(t, s, 2)
		assert.Equal(t, "/late", s[0].Path)
		assert.Equal(t, "/fast", s[1].Path, "kept once the slower ones left")
	})
}

// Offer of a request faster than every one kept takes no lock and
// allocates nothing: it is called for every request.
func BenchmarkOffer(b *testing.B) {
	d := new(dashboard.Dashboard)
	for i := range dashboard.SlowestKept {
		offer(d, fmt.Sprint("/slow", i), time.Second)
	}
	_, l := ledger.Start(context.Background())
	l.Finish()
	fast := ledger.Request{Method: http.MethodGet, Path: "/", Status: 200, Start: time.Now(), Elapsed: time.Millisecond, Ledger: l}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.Offer(fast)
		}
	})
	b.Run("fast/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				d.Offer(fast)
			}
		})
	})
}
