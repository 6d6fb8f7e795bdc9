package breaker_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/watertight-go/watertight/breaker"
)

// model is the breaker's state machine written the plain way: one
// goroutine, every rate recomputed from scratch after every call. The fuzz
// target checks the real breaker against it.
type model struct {
	window, minCalls, probes int
	rate, slowRate           float64
	slowCall                 time.Duration

	state    breaker.State
	gen      int
	calls    []bool // closed window: failed?
	slows    []bool
	until    time.Time
	length   time.Duration
	step     int       // backoff steps taken since the circuit last opened from closed
	deadline time.Time // half-open: probes must report by then; zero until the first
	admitted int
	reported int
	pf, ps   int
}

func (m *model) install(to breaker.State, now time.Time) {
	m.gen++
	from := m.state
	m.state = to
	switch to {
	case breaker.Closed:
		m.calls, m.slows = nil, nil
	case breaker.Open:
		if from == breaker.Closed {
			m.step = 0
		}
		m.length = min(time.Second<<m.step, 8*time.Second)
		m.step++
		m.until = now.Add(m.length)
	case breaker.HalfOpen:
		m.deadline, m.admitted, m.reported, m.pf, m.ps = time.Time{}, 0, 0, 0, 0
	}
}

// current applies the transitions time has made due.
func (m *model) current(now time.Time) breaker.State {
	for {
		switch {
		case m.state == breaker.Open && !now.Before(m.until):
			m.install(breaker.HalfOpen, now)
		case m.state == breaker.HalfOpen && !m.deadline.IsZero() && !now.Before(m.deadline) && m.reported < m.probes:
			m.install(breaker.Open, now)
		default:
			return m.state
		}
	}
}

// admit returns the generation the call belongs to, or the refusal.
func (m *model) admit(now time.Time) (gen int, refused error) {
	switch m.current(now) {
	case breaker.Open:
		return 0, breaker.ErrOpen
	case breaker.HalfOpen:
		if m.admitted >= m.probes {
			return 0, breaker.ErrHalfOpenFull
		}
		m.admitted++
		if m.deadline.IsZero() {
			m.deadline = now.Add(m.length) // HalfOpenTimeout 0: the open period before
		}
	}
	return m.gen, nil
}

func (m *model) record(gen int, failed bool, took time.Duration, now time.Time) {
	if gen != m.gen {
		return // from an earlier period
	}
	slow := took >= m.slowCall
	switch m.state {
	case breaker.Closed:
		m.calls = append(m.calls, failed)
		m.slows = append(m.slows, slow)
		if len(m.calls) > m.window {
			m.calls, m.slows = m.calls[1:], m.slows[1:]
		}
		n, f, s := len(m.calls), count(m.calls), count(m.slows)
		if n >= m.minCalls && (float64(f)/float64(n) >= m.rate || float64(s)/float64(n) >= m.slowRate) {
			m.install(breaker.Open, now)
		}
	case breaker.HalfOpen:
		m.reported++
		if failed {
			m.pf++
		}
		if slow {
			m.ps++
		}
		if m.reported == m.probes {
			if float64(m.pf)/float64(m.probes) >= m.rate || float64(m.ps)/float64(m.probes) >= m.slowRate {
				m.install(breaker.Open, now)
			} else {
				m.install(breaker.Closed, now)
			}
		}
	}
}

func count(bs []bool) (n int) {
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// pendingCall is an Allow whose done has not been called yet.
type pendingCall struct {
	done  func(error)
	gen   int
	start time.Time
}

func FuzzAgainstModel(f *testing.F) {
	f.Add([]byte{1, 0, 1, 0, 1, 0, 3, 2, 0, 0, 0, 0})
	f.Add([]byte{1, 3, 1, 3, 1, 3, 3, 3, 4, 0, 4, 0, 4, 0, 5, 0, 5, 1, 3, 3, 3, 3})
	f.Add([]byte{2, 0, 2, 0, 2, 0, 3, 2, 2, 0, 3, 3, 3, 3, 0, 2, 0, 2, 6, 0, 1, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			b := breaker.MustNew(breaker.Config{
				WindowCalls: 5, MinCalls: 3, FailureRate: 0.5,
				SlowCall: time.Second, SlowCallRate: 0.6,
				HalfOpenCalls: 2, OpenBackoff: steady(),
			})
			m := &model{window: 5, minCalls: 3, probes: 2, rate: 0.5, slowRate: 0.6, slowCall: time.Second}
			durations := [4]time.Duration{0, time.Second - 1, time.Second, 3 * time.Second}
			var pending []pendingCall

			for i := 0; i+1 < len(ops); i += 2 {
				kind, arg := ops[i]%8, ops[i+1]
				switch kind {
				case 0, 1, 2: // Do: succeed, fail or panic, taking a while
					took := durations[arg%4]
					gen, refused := m.admit(time.Now())
					ran := false
					err := func() (err error) {
						defer func() {
							if r := recover(); r != nil && r != "boom" {
								panic(r)
							}
						}()
						return b.Do(context.Background(), func(context.Context) error {
							ran = true
							elapse(took)
							switch kind {
							case 1:
								return errDown
							case 2:
								panic("boom")
							}
							return nil
						})
					}()
					if refused != nil {
						if ran || !errorIs(err, refused) {
							t.Fatalf("op %d: model refused with %v, breaker ran=%v err=%v", i, refused, ran, err)
						}
						continue
					}
					if !ran {
						t.Fatalf("op %d: model admitted, breaker refused: %v", i, err)
					}
					m.record(gen, kind != 0, took, time.Now())
				case 3: // time passes
					elapse([4]time.Duration{time.Millisecond, 500 * time.Millisecond, time.Second, 3 * time.Second}[arg%4])
				case 4: // Allow, reported later
					gen, refused := m.admit(time.Now())
					done, err := b.Allow()
					if (refused == nil) != (err == nil) || (refused != nil && !errorIs(err, refused)) {
						t.Fatalf("op %d: Allow: model %v, breaker %v", i, refused, err)
					}
					if err == nil {
						pending = append(pending, pendingCall{done, gen, time.Now()})
					}
				case 5: // a pending call reports
					if len(pending) == 0 {
						continue
					}
					k := int(arg>>1) % len(pending)
					p := pending[k]
					pending = append(pending[:k], pending[k+1:]...)
					var err error
					if arg&1 == 1 {
						err = errDown
					}
					p.done(err)
					p.done(err) // counts once
					m.record(p.gen, err != nil, time.Since(p.start), time.Now())
				case 6:
					b.Reset()
					m.install(breaker.Closed, time.Now())
				}
				if got, want := b.State(), m.current(time.Now()); got != want {
					t.Fatalf("op %d (kind %d): breaker %v, model %v; stats %+v", i, kind, got, want, b.Stats())
				}
			}
		})
	})
}

func errorIs(err, target error) bool {
	for err != nil {
		if err == target {
			return true
		}
		if x, ok := err.(interface{ Is(error) bool }); ok && x.Is(target) {
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}
