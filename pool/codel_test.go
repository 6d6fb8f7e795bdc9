package pool_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/pool"
)

// order records the names of the tasks that ran, in order.
type order struct {
	mu    sync.Mutex
	names []string
}

func (o *order) task(name string) func(context.Context) error {
	return func(context.Context) error {
		o.mu.Lock()
		o.names = append(o.names, name)
		o.mu.Unlock()
		return nil
	}
}

func (o *order) got() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.names)
}

func TestCoDelSpecification(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Workers: 1, QueueSize: 16, Queue: pool.CoDel})
		defer func() { require.NoError(t, p.Close(t.Context())) }()
		var o order
		do := func(name string) chan error {
			done := make(chan error, 1)
			go func() { done <- p.Do(t.Context(), o.task(name)) }()
			synctest.Wait()
			return done
		}
		block := func() chan struct{} {
			gate := make(chan struct{})
			require.NoError(t, p.Submit(t.Context(), func(context.Context) { <-gate }))
			synctest.Wait()
			return gate
		}

		// FIFO while the queue keeps emptying: 30 ms is not an interval.
		gate := block()
		var done []chan error
		for _, name := range []string{"a", "b", "c"} {
			done = append(done, do(name))
			<-time.After(10 * time.Millisecond)
		}
		close(gate)
		for _, d := range done {
			require.NoError(t, <-d)
		}
		assert.Equal(t, []string{"a", "b", "c"}, o.got())
		assert.False(t, p.Stats().Controlled)

		// Newest first once it stands; the task over the target is shed,
		// never run, and its Do caller told at once.
		o = order{}
		gate = block()
		old := do("old") // t=0: the queue stops emptying
		<-time.After(147 * time.Millisecond)
		done = nil
		for _, name := range []string{"x", "y", "z"} {
			done = append(done, do(name))
			<-time.After(time.Millisecond)
		}
		close(gate) // t=150 ms: old waited 150 ms, x 3 ms
		err := <-old
		assert.ErrorIs(t, err, pool.ErrShed)
		assert.ErrorIs(t, err, watertight.ErrRejected)
		for _, d := range done {
			require.NoError(t, <-d)
		}
		assert.Equal(t, []string{"z", "y", "x"}, o.got())
		st := p.Stats()
		assert.Equal(t, uint64(1), st.Shed)
		assert.False(t, st.Controlled, "a worker found it empty after the last task")

		// Back to first in, first out once it has emptied.
		o = order{}
		gate = block()
		a := do("a")
		<-time.After(time.Millisecond)
		c := do("c")
		close(gate)
		require.NoError(t, <-a)
		require.NoError(t, <-c)
		assert.Equal(t, []string{"a", "c"}, o.got())
	})
}

func TestCoDelConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  pool.Config
		want string
	}{
		{pool.Config{Workers: 1, QueueSize: 1, Queue: 9}, "pool: Config.Queue must be FIFO or CoDel, got QueueDiscipline(9)"},
		{pool.Config{Workers: 1, Queue: pool.CoDel}, "pool: Config.Queue is CoDel but QueueSize is 0: no task can wait; set QueueSize"},
		{pool.Config{Workers: 1, QueueSize: 1, CoDelInterval: time.Second}, "pool: Config.CoDelTarget (0s) and CoDelInterval (1s) are set but Config.Queue is FIFO; set Queue: CoDel"},
		{pool.Config{Workers: 1, QueueSize: 1, Queue: pool.CoDel, CoDelTarget: time.Second}, "pool: Config.CoDelTarget (1s) must be less than Config.CoDelInterval (100ms)"},
	} {
		_, err := pool.New(tc.cfg)
		assert.EqualError(t, err, tc.want)
	}
}

// steadyLoad offers Do calls with a 1 s deadline, Poisson at load × what 5
// workers of 10 ms serve (500 a second), for 30 s, and reports the goodput
// (calls whose task ran and finished in time), the tasks shed, and the p99
// queue wait of the tasks that ran.
func steadyLoad(t *testing.T, queue pool.QueueDiscipline, load float64) (offered, goodput, shed int, p99 time.Duration) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Workers: 5, QueueSize: 2000, Queue: queue})
		rng := rand.New(rand.NewPCG(7, 7))
		var mu sync.Mutex
		var waits []time.Duration
		var wg sync.WaitGroup
		for start := time.Now(); time.Since(start) < 30*time.Second; {
			<-time.After(time.Duration(rng.ExpFloat64() / (load * 500) * float64(time.Second)))
			offered++
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				queued := time.Now()
				err := p.Do(ctx, func(ctx context.Context) error {
					mu.Lock()
					waits = append(waits, time.Since(queued))
					mu.Unlock()
					<-time.After(10 * time.Millisecond)
					return ctx.Err()
				})
				if err == nil {
					mu.Lock()
					goodput++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.NoError(t, p.Close(t.Context()))
		slices.Sort(waits)
		p99 = waits[len(waits)*99/100]
		shed = int(p.Stats().Shed)
	})
	return offered, goodput, shed, p99
}

func TestCoDelUnderSteadyOverload(t *testing.T) {
	const capacity = 500 * 30
	p99s, goodputs := map[string]time.Duration{}, map[string]int{}
	for _, run := range []struct {
		name  string
		queue pool.QueueDiscipline
		load  float64
	}{{"FIFO 1.5×", pool.FIFO, 1.5}, {"CoDel 1.5×", pool.CoDel, 1.5}, {"CoDel 0.8×", pool.CoDel, 0.8}} {
		offered, goodput, shed, p99 := steadyLoad(t, run.queue, run.load)
		t.Logf("%-10s offered %5d, goodput %5d (%.0f%% of capacity), shed %5d, p99 queue wait of the tasks that ran %v",
			run.name, offered, goodput, 100*float64(goodput)/capacity, shed, p99)
		p99s[run.name], goodputs[run.name] = p99, goodput
	}
	assert.GreaterOrEqual(t, float64(goodputs["CoDel 1.5×"]), 0.95*capacity)
	assert.LessOrEqual(t, p99s["CoDel 1.5×"], p99s["FIFO 1.5×"]/10)
}

// Many goroutines submitting, calling Do and Go on a CoDel pool with
// deadlines: no task is lost, no waiter is left blocked, and
// Submitted == Completed + Expired + Shed + Panicked.
func TestCoDelHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Workers: 3, QueueSize: 32, Queue: pool.CoDel, CoDelTarget: 2 * time.Millisecond, CoDelInterval: 20 * time.Millisecond})
		var wg sync.WaitGroup
		for g := range 24 {
			wg.Go(func() {
				for i := range 100 {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+(g*5+i)%40)*time.Millisecond)
					work := func(context.Context) { <-time.After(time.Duration(1+i%3) * time.Millisecond) }
					switch i % 3 {
					case 0:
						_ = p.Submit(ctx, work)
					case 1:
						_ = p.Do(ctx, func(ctx context.Context) error { work(ctx); return nil })
					case 2:
						if f, err := pool.Go(ctx, p, func(ctx context.Context) (int, error) { work(ctx); return i, nil }); err == nil {
							_, _ = f.Wait(context.Background())
						}
					}
					cancel()
				}
			})
		}
		wg.Wait()
		require.NoError(t, p.Close(t.Context()))
		st := p.Stats()
		assert.Equal(t, st.Submitted, st.Completed+st.Expired+st.Shed+st.Panicked)
		assert.Positive(t, st.Shed)
		assert.Zero(t, st.Queued)
		t.Logf("submitted %d: completed %d, expired %d, shed %d", st.Submitted, st.Completed, st.Expired, st.Shed)
	})
}

// The incident's own case for a pool: every worker is stuck on a hung
// dependency, so no worker ever takes the next task. Once the queue has
// stood an interval its tasks are shed all the same, each once it is past
// the target, and their waiters told at once; a task that comes after a
// quiet interval may wait an interval again.
func TestCoDelShedsWhenEveryWorkerIsStuck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pool.MustNew(pool.Config{Workers: 2, QueueSize: 10, Queue: pool.CoDel})
		hung := make(chan struct{})
		for range 2 {
			require.NoError(t, p.Submit(t.Context(), func(context.Context) { <-hung }))
		}
		synctest.Wait()
		want := map[time.Duration]time.Duration{
			0:                      100 * time.Millisecond,
			50 * time.Millisecond:  50 * time.Millisecond,
			90 * time.Millisecond:  10 * time.Millisecond,
			150 * time.Millisecond: pool.DefaultCoDelTarget,
			200 * time.Millisecond: pool.DefaultCoDelTarget,
			400 * time.Millisecond: 100 * time.Millisecond,
		}
		type result struct {
			arrived, waited time.Duration
			err             error
		}
		results := make(chan result, len(want))
		for at := range want {
			go func() {
				<-time.After(at)
				t0 := time.Now()
				err := p.Do(t.Context(), func(context.Context) error { return nil })
				results <- result{at, time.Since(t0), err}
			}()
		}
		for range want {
			r := <-results
			assert.ErrorIs(t, r.err, pool.ErrShed, "arrived at %v", r.arrived)
			assert.ErrorIs(t, r.err, watertight.ErrRejected)
			assert.Equal(t, want[r.arrived], r.waited, "arrived at %v", r.arrived)
		}
		// A fire-and-forget task is shed too, and never runs.
		require.NoError(t, p.Submit(t.Context(), func(context.Context) { t.Error("a shed task ran") }))
		<-time.After(time.Second)
		assert.Equal(t, uint64(len(want)+1), p.Stats().Shed)
		close(hung)
		require.NoError(t, p.Close(t.Context()))
	})
}
