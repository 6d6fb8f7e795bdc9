package overload

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ErrOverloaded is what a Dependency answers a call it served while it was
// overloaded: the way a database or a service fails when its own
// resources run out under a queue. It is a failure worth retrying, to
// every retry policy here.
var ErrOverloaded = errors.New("dependency overloaded")

// Dependency is a simulated dependency: Servers calls at a time, each for
// its service time; more calls wait inside it, first in, first out, so
// its latency grows with the calls inside it beyond its capacity. It
// fails calls when it is overloaded: a call that starts while more than
// Servers others wait fails with probability (waiting - Servers) /
// (4 * Servers), at most 0.9 — after its full service time, so a
// failure costs as much as a success. That is what lets retries sustain
// an overload after its trigger has gone: a metastable failure.
//
// Like a Go server whose handlers check their request's ctx, it skips a
// queued call whose caller has gone before it starts, at no cost; a call
// already being served runs to its end.
//
// It is real code on real time: under testing/synctest, time is the
// bubble's, and a scenario of minutes runs in seconds.
type Dependency struct {
	mu      sync.Mutex
	wake    sync.Cond // idle workers wait on it, with mu
	queue   []*job    // waiting, oldest first
	servers int       // workers that should run
	running int       // workers running
	service func(r *rand.Rand) time.Duration
	rng     *rand.Rand
	stopped bool
	workers sync.WaitGroup

	Attempts atomic.Int64 // calls that arrived
	Served   atomic.Int64 // calls that started service
	Failed   atomic.Int64 // of those, failed with ErrOverloaded
}

type job struct {
	ctx  context.Context
	done chan error
}

// NewDependency returns a dependency of servers servers whose calls take
// service each. Stop it when done.
func NewDependency(servers int, service time.Duration) *Dependency {
	d := &Dependency{rng: rand.New(rand.NewPCG(1, 2))}
	d.wake.L = &d.mu
	d.SetService(func(*rand.Rand) time.Duration { return service })
	d.SetServers(servers)
	return d
}

// SetService changes how long calls take from the next call served on:
// f draws one call's service time.
func (d *Dependency) SetService(f func(r *rand.Rand) time.Duration) {
	d.mu.Lock()
	d.service = f
	d.mu.Unlock()
}

// SetServers changes the capacity: workers start at once, or leave once
// their call ends.
func (d *Dependency) SetServers(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.servers = n
	d.wake.Broadcast() // workers beyond n leave
	for d.running < d.servers {
		d.running++
		d.workers.Add(1)
		go d.work()
	}
}

// Servers reports the capacity now.
func (d *Dependency) Servers() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.servers
}

// Stop makes every worker leave once the calls they serve end, and fails
// the calls still queued. It waits for the workers.
func (d *Dependency) Stop() {
	d.mu.Lock()
	d.stopped = true
	d.wake.Broadcast()
	q := d.queue
	d.queue = nil
	d.mu.Unlock()
	for _, j := range q {
		j.done <- context.Canceled
	}
	d.workers.Wait()
}

// Call is one call of the dependency: it returns nil once served, or
// ErrOverloaded, or ctx's error as soon as ctx is done.
func (d *Dependency) Call(ctx context.Context) error {
	d.Attempts.Add(1)
	j := &job{ctx: ctx, done: make(chan error, 1)}
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return context.Canceled
	}
	d.queue = append(d.queue, j)
	d.wake.Signal()
	d.mu.Unlock()
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// work serves queued calls until the dependency has fewer servers than
// workers, or stops.
func (d *Dependency) work() {
	defer d.workers.Done()
	for {
		d.mu.Lock()
		if d.stopped || d.running > d.servers {
			d.running--
			d.mu.Unlock()
			return
		}
		if len(d.queue) == 0 {
			d.wake.Wait()
			d.mu.Unlock()
			continue
		}
		j := d.queue[0]
		d.queue[0] = nil
		d.queue = d.queue[1:]
		if j.ctx.Err() != nil { // its caller left: skipped at no cost
			d.mu.Unlock()
			continue
		}
		waiting := len(d.queue)
		fail := waiting > d.servers && d.rng.Float64() < min(0.9, float64(waiting-d.servers)/float64(4*d.servers))
		took := d.service(d.rng)
		d.mu.Unlock()

		d.Served.Add(1)
		time.Sleep(took)
		if fail {
			d.Failed.Add(1)
			j.done <- ErrOverloaded
		} else {
			j.done <- nil
		}
	}
}

// Handler serves the dependency over HTTP: 200, 503 for ErrOverloaded,
// and nothing (the client left) otherwise.
func (d *Dependency) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch err := d.Call(r.Context()); {
		case err == nil:
			w.WriteHeader(http.StatusOK)
		case errors.Is(err, ErrOverloaded):
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
}
