package overload

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestOnRealLoopback runs each scenario for a few seconds of real time,
// every call over HTTP on loopback, ours beside the contender its story
// is about, both at once: a check that the simulator's story holds on a
// real network stack and a real clock. It compares the two contenders of
// one run with wide margins, never a latency with a number.
func TestOnRealLoopback(t *testing.T) {
	if raceEnabled {
		t.Skip("skipped under the race detector, which slows real time several-fold: the run without it (.ci/run) checks the story")
	}
	t.Run("retry storm", func(t *testing.T) {
		const f = 0.2 // 2 s, a 2 s spike, 4 s after
		runs := RetryStorm().Scaled(f).PlayAll([]Contender{PlainLoop(attemptTimeout), OursRetry(40, attemptTimeout, deadline)}, HTTP)
		plain, ours := Storm(runs[0], f), Storm(runs[1], f)
		t.Logf("real loopback, retry storm:\n%s", StormTable([]StormFigures{plain, ours}).Text())
		saveFigures(t, "real-storm", []StormFigures{plain, ours})
		assert.Less(t, ours.Amplification, plain.Amplification)
		assert.Greater(t, ours.During, plain.During)
		assert.Greater(t, ours.After, plain.After)
	})
	t.Run("brownout", func(t *testing.T) {
		const f = 0.15 // 3 s healthy, 9 s sick, 3 s recovered
		runs := Brownout().Scaled(f).PlayAll([]Contender{Static("static bulkhead of 40 (the healthy day)", 40), OursAdaptive(200, 200, codelInterval)}, HTTP)
		static, ours := BrownoutOf(runs[0], f, Offered), BrownoutOf(runs[1], f, Offered)
		t.Logf("real loopback, brownout:\n%s", BrownoutTable([]BrownoutFigures{static, ours}).Text())
		saveFigures(t, "real-brownout", []BrownoutFigures{static, ours})
		assert.Less(t, ours.SickP99, static.SickP99, "ours queues less in the brownout")
		assert.Greater(t, ours.Sick, 0.8*static.Sick, "and serves about as much, or more")
	})
	t.Run("tail", func(t *testing.T) {
		const f = 0.1 // 6 s
		s := Tail().Scaled(f)
		runs := s.PlayAll([]Contender{Bare("no hedge"), OursHedge()}, HTTP)
		// The first 10 s a full run leaves out are 1 s here: hedge's delay
		// learns from its first 100 calls.
		none, ours := TailOf(runs[0], f), TailOf(runs[1], f)
		t.Logf("real loopback, tail:\n%s", TailTable([]TailFigures{none, ours}).Text())
		saveFigures(t, "real-tail", []TailFigures{none, ours})
		assert.Less(t, ours.P99, none.P99)
		assert.Less(t, ours.ExtraLoad, 0.2)
	})
}
