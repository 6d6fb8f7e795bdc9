package poolwait_test

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/poolwait"
)

// leaks collects leak reports.
type leaks struct {
	mu  sync.Mutex
	got []poolwait.Leak
}

func (l *leaks) add(r poolwait.Leak) {
	l.mu.Lock()
	l.got = append(l.got, r)
	l.mu.Unlock()
}

func (l *leaks) all() []poolwait.Leak {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]poolwait.Leak(nil), l.got...)
}

func TestHoldsMeasuresEveryHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := poolwait.NewHolds(poolwait.HoldsConfig{Pool: "db"})
		require.NoError(t, err)
		for _, d := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond} {
			held := h.Acquire()
			time.Sleep(d) // the caller holds the connection
			h.Release(held)
		}
		hold, open, total := h.Stats()
		assert.Equal(t, uint64(3), hold.Count)
		assert.Equal(t, 210*time.Millisecond, hold.Total)
		assert.Equal(t, 100*time.Millisecond, hold.Max)
		assert.Zero(t, open)
		assert.Zero(t, total)
		h.Release(poolwait.Held{}) // no checkout: ignored
		hold, _, _ = h.Stats()
		assert.Equal(t, uint64(3), hold.Count)
	})
}

func TestHoldsReportsALeakOnceAndItsReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got leaks
		h, err := poolwait.NewHolds(poolwait.HoldsConfig{Pool: "db", LeakAfter: time.Second, OnLeak: got.add})
		require.NoError(t, err)

		short := h.Acquire()
		time.Sleep(999 * time.Millisecond)
		h.Release(short) // under the threshold: never reported
		synctest.Wait()
		assert.Empty(t, got.all())

		held := h.Acquire()
		time.Sleep(5 * time.Second)
		reports := got.all()
		require.Len(t, reports, 1, "reported once, however long it is held")
		assert.Equal(t, "db", reports[0].Pool)
		assert.Equal(t, time.Second, reports[0].Held)
		assert.False(t, reports[0].Returned)
		assert.Contains(t, reports[0].Stack, "poolwait_test.TestHoldsReportsALeakOnceAndItsReturn", "the stack names who took it")
		assert.NotContains(t, reports[0].Stack, "poolwait.(*Holds)", "the pool's own frames are left out")
		_, open, total := h.Stats()
		assert.Equal(t, 1, open)
		assert.Equal(t, uint64(1), total)

		h.Release(held)
		reports = got.all()
		require.Len(t, reports, 2)
		assert.True(t, reports[1].Returned)
		assert.Equal(t, 5*time.Second, reports[1].Held, "the whole hold")
		assert.Equal(t, reports[0].Stack, reports[1].Stack)
		_, open, total = h.Stats()
		assert.Zero(t, open)
		assert.Equal(t, uint64(1), total)
	})
}

func TestHoldsLeakFramesOfThePoolAreLeftOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got leaks
		h, err := poolwait.NewHolds(poolwait.HoldsConfig{LeakAfter: time.Millisecond, OnLeak: got.add,
			PoolFrames: []string{"github.com/watertight-go/watertight/poolwait_test.checkout"}})
		require.NoError(t, err)
		held := checkout(h)
		time.Sleep(time.Second)
		h.Release(held)
		reports := got.all()
		require.Len(t, reports, 2)
		first, _, _ := bytes.Cut([]byte(reports[0].Stack), []byte("\n"))
		assert.Equal(t, "github.com/watertight-go/watertight/poolwait_test.TestHoldsLeakFramesOfThePoolAreLeftOut.func1", string(first))
	})
}

// checkout stands for a pool's own code between the caller and Holds.
//
//go:noinline
func checkout(h *poolwait.Holds) poolwait.Held { return h.Acquire() }

func TestHoldsDefaultReportIsASlogWarning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		defer slog.SetDefault(slog.Default())
		slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
		h, err := poolwait.NewHolds(poolwait.HoldsConfig{Pool: "orders", LeakAfter: time.Second})
		require.NoError(t, err)
		held := h.Acquire()
		time.Sleep(2 * time.Second)
		h.Release(held)
		out := buf.String()
		assert.Contains(t, out, `level=WARN msg="poolwait: a connection is held past the leak threshold; it may have leaked" pool=orders held=1s`)
		assert.Contains(t, out, `level=WARN msg="poolwait: a connection held past the leak threshold came back" pool=orders held=2s`)
		assert.Contains(t, out, "TestHoldsDefaultReportIsASlogWarning")
	})
}

func TestHoldsAPanickingOnLeakGoesNoFurther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		defer slog.SetDefault(slog.Default())
		slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
		h, err := poolwait.NewHolds(poolwait.HoldsConfig{Pool: "db", LeakAfter: time.Second, OnLeak: func(poolwait.Leak) { panic("reporter broke") }})
		require.NoError(t, err)
		held := h.Acquire()
		time.Sleep(2 * time.Second)
		assert.NotPanics(t, func() { h.Release(held) })
		assert.Contains(t, buf.String(), "reporter broke")
		hold, open, total := h.Stats()
		assert.Equal(t, uint64(1), hold.Count)
		assert.Zero(t, open)
		assert.Equal(t, uint64(1), total)
	})
}

func TestHoldsWithoutLeakDetectionAllocatesNothing(t *testing.T) {
	h, err := poolwait.NewHolds(poolwait.HoldsConfig{Pool: "db"})
	require.NoError(t, err)
	assert.Zero(t, testing.AllocsPerRun(100, func() { h.Release(h.Acquire()) }))
}

func TestHoldsConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  poolwait.HoldsConfig
		want string
	}{
		{poolwait.HoldsConfig{LeakAfter: -time.Second}, "poolwait: HoldsConfig.LeakAfter must be >= 0, got -1s"},
		{poolwait.HoldsConfig{LeakAfter: 10}, "poolwait: HoldsConfig.LeakAfter must be 0 or at least 1ms, got 10ns (a bare number is nanoseconds: write 10 * time.Millisecond)"},
		{poolwait.HoldsConfig{PoolFrames: []string{""}}, "poolwait: HoldsConfig.PoolFrames has an empty prefix, which would leave every frame out"},
	} {
		_, err := poolwait.NewHolds(c.cfg)
		assert.EqualError(t, err, c.want)
	}
}

func TestHoldsNil(t *testing.T) {
	var h *poolwait.Holds
	assert.NotPanics(t, func() { h.Release(h.Acquire()) })
	hold, open, total := h.Stats()
	assert.Zero(t, hold.Count)
	assert.Zero(t, open)
	assert.Zero(t, total)
	assert.Zero(t, h.LeakAfter())
}
