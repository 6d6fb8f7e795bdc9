package overload

import (
	"math/rand/v2"
	"time"
)

func fixed(d time.Duration) func(*rand.Rand) time.Duration {
	return func(*rand.Rand) time.Duration { return d }
}

// RetryStorm: a dependency of 20 servers at 20 ms (1,000 calls a second)
// under 800 requests a second (80%), a 10 s spike to 2,400 (3×), then 800
// again for 20 s. Each request has a 1 s deadline.
func RetryStorm() Scenario {
	return Scenario{
		Name: "retry storm", Servers: 20, Service: fixed(20 * time.Millisecond), Deadline: time.Second,
		Phases: []Phase{
			{Name: "before", Duration: 10 * time.Second, Rate: 800},
			{Name: "spike", Duration: 10 * time.Second, Rate: 2400},
			{Name: "after", Duration: 20 * time.Second, Rate: 800},
		},
	}
}

// Brownout: a dependency of 40 servers at 10 ms (4,000 calls a second)
// under 3,200 requests a second (80%); at 20 s it drops to 10 servers
// (1,000 a second) for 60 s, then recovers for 20 s. Each request has a
// 1 s deadline.
func Brownout() Scenario {
	return Scenario{
		Name: "brownout", Servers: 40, Service: fixed(10 * time.Millisecond), Deadline: time.Second,
		Phases: []Phase{
			{Name: "healthy", Duration: 20 * time.Second, Rate: 3200},
			{Name: "brownout", Duration: 60 * time.Second, Rate: 3200, Servers: 10},
			{Name: "recovered", Duration: 20 * time.Second, Rate: 3200, Servers: 40},
		},
	}
}

// Tail: a healthy dependency (it never queues) whose calls take 8 to 12
// ms, but 2% take 200 ms (20× the median), under 500 requests a second
// for 60 s. Each request has a 1 s deadline.
func Tail() Scenario {
	return Scenario{
		Name: "tail", Servers: 2000, Deadline: time.Second,
		Service: func(r *rand.Rand) time.Duration {
			if r.Float64() < 0.02 {
				return 200 * time.Millisecond
			}
			return 8*time.Millisecond + time.Duration(r.Int64N(int64(4*time.Millisecond)))
		},
		Phases: []Phase{{Name: "steady", Duration: 60 * time.Second, Rate: 500}},
	}
}

// The timeouts of the retrying contenders: every attempt is bounded at
// 250 ms, every request at its 1 s deadline.
const (
	attemptTimeout = 250 * time.Millisecond
	deadline       = time.Second
)

// StormContenders are the retry storm's contenders, ours last.
func StormContenders() []Contender {
	return []Contender{
		Bare("no retries"),
		PlainLoop(attemptTimeout),
		FailsafeRetry(false, attemptTimeout),
		FailsafeRetry(true, attemptTimeout),
		OursRetry(0, attemptTimeout, deadline),
		OursRetry(40, attemptTimeout, deadline),
	}
}

// BrownoutContenders are the brownout's contenders, ours last.
func BrownoutContenders() []Contender {
	return []Contender{
		Bare("no limit"),
		Static("static bulkhead of 40 (the healthy day)", 40),
		Static("static bulkhead of 10 (the bad day)", 10),
		FailsafeLimiter(),
		OursAdaptive(200, 200, codelInterval),
	}
}

// TailContenders are the tail scenario's contenders, ours last.
func TailContenders() []Contender {
	return []Contender{Bare("no hedge"), FailsafeHedge(), OursHedge()}
}

// codelInterval is our brownout bulkhead's CoDel interval: twice the
// dependency's healthy latency, so that no success waits in its queue
// much longer than it takes. CoDel's default, 100 ms, fits calls of
// 50 ms and more: with it, the p99 of the brownout on real loopback was
// 85 ms (in the simulator, where arrivals are perfectly even, 21 ms).
const codelInterval = 20 * time.Millisecond

// Offered is the brownout's offered load a second.
const Offered = 3200
