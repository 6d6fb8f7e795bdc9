package pool_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/retry"
)

// Background work goes to a pool sized to what its dependency can serve;
// Submit waits for queue room, so a burst cannot pile up goroutines.
func ExamplePool_Submit() {
	p := pool.MustNew(pool.Config{Name: "mailer", Workers: 4, QueueSize: 8})

	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for range 20 {
		wg.Add(1)
		err := p.Submit(context.Background(), func(ctx context.Context) {
			defer wg.Done()
			mu.Lock()
			sent++ // send one email
			mu.Unlock()
		})
		if err != nil {
			wg.Done()
			fmt.Println("not queued:", err)
		}
	}
	wg.Wait()
	_ = p.Close(context.Background())

	st := p.Stats()
	fmt.Println("sent:", sent)
	fmt.Println("submitted:", st.Submitted, "completed:", st.Completed)
	// Output:
	// sent: 20
	// submitted: 20 completed: 20
}

// TrySubmit sheds load instead of waiting: when every worker is busy and
// the queue is full, it returns ErrFull at once.
func ExamplePool_TrySubmit() {
	p := pool.MustNew(pool.Config{Name: "thumbnails", Workers: 1})
	defer p.Close(context.Background())

	gate := make(chan struct{})
	_ = p.Submit(context.Background(), func(context.Context) { <-gate }) // the only worker is busy

	err := p.TrySubmit(context.Background(), func(context.Context) {})
	fmt.Println(err)
	fmt.Println(errors.Is(err, pool.ErrFull), errors.Is(err, watertight.ErrRejected))
	close(gate)
	// Output:
	// pool "thumbnails": full
	// true true
}

// Do makes a pool a "thread-pool bulkhead": the call runs on one of the
// pool's workers, and the caller waits for its result.
func ExamplePool_Do() {
	reports := pool.MustNew(pool.Config{Name: "reports-db", Workers: 2, QueueSize: 2})
	defer reports.Close(context.Background())

	var total int
	err := reports.Do(context.Background(), func(ctx context.Context) error {
		total = 42 // query the reports database with ctx
		return nil
	})
	fmt.Println(total, err)
	// Output:
	// 42 <nil>
}

// Go starts a task and returns a Future; Wait may give up early without
// losing the result.
func ExampleGo() {
	p := pool.MustNew(pool.Config{Workers: 2})
	defer p.Close(context.Background())

	f, err := pool.Go(context.Background(), p, func(ctx context.Context) (string, error) {
		return "price: 12.50", nil // call the pricing service with ctx
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := f.Wait(context.Background())
	fmt.Println(v, err)
	// Output:
	// price: 12.50 <nil>
}

// NewGroup fans a request out to many calls on a pool, like errgroup, but
// never holds more goroutines than the pool's workers: the first error
// cancels the rest.
func ExampleNewGroup() {
	p := pool.MustNew(pool.Config{Name: "inventory", Workers: 3, QueueSize: 3})
	defer p.Close(context.Background())

	skus := []string{"a", "b", "c", "d", "e"}
	stock := make([]int, len(skus))
	g, ctx := pool.NewGroup(context.Background(), p)
	for i, sku := range skus {
		g.Go(func(ctx context.Context) error {
			stock[i] = len(sku) * 10 // look sku up with ctx
			return nil
		})
	}
	err := g.Wait()
	fmt.Println(stock, err, ctx.Err())
	// Output:
	// [10 10 10 10 10] <nil> context canceled
}

// Close finishes queued and running tasks; later work gets ErrClosed.
func ExamplePool_Close() {
	p := pool.MustNew(pool.Config{Name: "jobs", Workers: 1, QueueSize: 4})
	for i := range 3 {
		_ = p.Submit(context.Background(), func(context.Context) { fmt.Println("job", i) })
	}
	if err := p.Close(context.Background()); err != nil {
		fmt.Println("close:", err)
	}
	fmt.Println(p.Submit(context.Background(), func(context.Context) {}))
	// Output:
	// job 0
	// job 1
	// job 2
	// pool "jobs": closed
}

// Stats shows how long tasks waited for a worker: the number that rises
// first when the dependency behind the pool slows down.
func ExamplePool_Stats() {
	p := pool.MustNew(pool.Config{Name: "geo", Workers: 2, QueueSize: 2})
	for range 4 {
		_ = p.Do(context.Background(), func(context.Context) error { return nil })
	}
	_ = p.Close(context.Background())
	st := p.Stats()
	fmt.Println("tasks:", st.Completed, "waits recorded:", st.Wait.Count, "runs recorded:", st.Run.Count)
	// Output:
	// tasks: 4 waits recorded: 4 runs recorded: 4
}

// New names the field that is wrong.
func ExampleNew() {
	_, err := pool.New(pool.Config{Name: "mailer", Workers: 0})
	fmt.Println(err)
	// Output:
	// pool: Config.Workers must be in 1..16384, got 0
}

// LogPanics sends the panics of fire-and-forget tasks to your logger.
func ExampleLogPanics() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == "stack" {
			return slog.Attr{} // deterministic output
		}
		return a
	}}))
	p := pool.MustNew(pool.Config{Name: "thumbnails", Workers: 1, OnPanic: pool.LogPanics(logger)})
	_ = p.Submit(context.Background(), func(context.Context) { panic("corrupt image") })
	_ = p.Close(context.Background())
	// Output:
	// level=ERROR msg="pool: task panicked" name=thumbnails panic="corrupt image" goexit=false
}

// A CoDel pool: a task that waited past the target in a queue that stood is
// shed, never run, and its Do caller is told at once.
func ExampleQueueDiscipline() {
	p := pool.MustNew(pool.Config{Name: "thumbnails", Workers: 1, QueueSize: 10, Queue: pool.CoDel,
		CoDelTarget: 5 * time.Millisecond, CoDelInterval: 20 * time.Millisecond})
	defer p.Close(context.Background())
	gate := make(chan struct{})
	_ = p.Submit(context.Background(), func(context.Context) { <-gate }) // the worker is busy
	stale := make(chan error, 1)
	go func() { stale <- p.Do(context.Background(), func(context.Context) error { return nil }) }()
	<-time.After(40 * time.Millisecond) // queued 40 ms: the queue stood, the task is past the target
	close(gate)
	err := <-stale
	fmt.Println(err, errors.Is(err, watertight.ErrRejected))
	// Output:
	// pool "thumbnails": shed by CoDel: queued too long true
}

// A background task that can fail is never silent: it runs under the
// pool's policy (here a retry) and timeout, and the failures that are
// left go to OnFailure — a slog error by default.
func ExamplePool_SubmitErr() {
	r := retry.MustNew(retry.Config{Name: "webhooks", MaxAttempts: 3, Backoff: func() backoff.BackOff { return &backoff.ZeroBackOff{} }})
	p := pool.MustNew(pool.Config{
		Name:        "webhooks",
		Workers:     4,
		QueueSize:   16,
		TaskTimeout: 5 * time.Second, // each attempt and its retries, together
		Policy:      r,
		OnFailure: func(e pool.FailureEvent) {
			fmt.Printf("%s: a task failed after %d attempt(s): %v\n", e.Name, e.Attempts, e.Err)
		},
	})
	calls := 0
	_ = p.SubmitErr(context.Background(), func(ctx context.Context) error {
		calls++
		if calls < 2 {
			return errors.New("502 from the receiver") // retried
		}
		return nil
	})
	_ = p.SubmitErr(context.Background(), func(ctx context.Context) error {
		return retry.Permanent(errors.New("410 gone")) // not worth a retry
	})
	_ = p.Close(context.Background())
	fmt.Println("failed:", p.Stats().Failed)
	// Output:
	// webhooks: a task failed after 1 attempt(s): 410 gone
	// failed: 1
}
