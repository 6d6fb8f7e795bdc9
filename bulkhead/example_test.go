package bulkhead_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/bulkhead"
)

func ExampleNew() {
	// At most 10 calls to the payments API at once; 20 more may wait up to
	// 50ms for a slot; the rest are refused at once.
	payments, err := bulkhead.New(bulkhead.Config{
		Name:          "payments",
		MaxConcurrent: 10,
		MaxQueue:      20,
		MaxWait:       50 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(payments.Name(), payments.Stats().MaxConcurrent)

	_, err = bulkhead.New(bulkhead.Config{MaxConcurrent: -3})
	fmt.Println(err)
	// Output:
	// payments 10
	// bulkhead: Config.MaxConcurrent must be > 0, got -3
}

func ExampleBulkhead_Do() {
	b := bulkhead.MustNew(bulkhead.Config{Name: "search", MaxConcurrent: 1})

	// Hold the only slot, as a slow call would.
	release, _ := b.Acquire(context.Background())

	err := b.Do(context.Background(), func(ctx context.Context) error {
		fmt.Println("not called: the bulkhead is full")
		return nil
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, bulkhead.ErrFull), errors.Is(err, watertight.ErrRejected))

	release()
	err = b.Do(context.Background(), func(ctx context.Context) error {
		fmt.Println("called")
		return nil
	})
	fmt.Println(err)
	// Output:
	// bulkhead "search": full
	// true true
	// called
	// <nil>
}

func ExampleBulkhead_Acquire() {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 2})

	release, err := b.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer release() // calling it twice is harmless

	fmt.Println("in flight:", b.Stats().InFlight)
	release()
	fmt.Println("in flight:", b.Stats().InFlight)
	// Output:
	// in flight: 1
	// in flight: 0
}

func ExampleBulkhead_TryAcquire() {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	if release, ok := b.TryAcquire(); ok {
		defer release()
		_, ok := b.TryAcquire()
		fmt.Println("second:", ok)
	}
	// Output:
	// second: false
}

func ExampleBulkhead_SetMaxConcurrent() {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 4})
	if err := b.SetMaxConcurrent(16); err != nil {
		fmt.Println(err)
	}
	fmt.Println(b.Stats().MaxConcurrent)
	fmt.Println(b.SetMaxConcurrent(0))
	// Output:
	// 16
	// bulkhead: SetMaxConcurrent: n must be in 1..1048575, got 0
}

func ExampleBulkhead_Stats() {
	b := bulkhead.MustNew(bulkhead.Config{MaxConcurrent: 1})
	for range 3 {
		_ = b.Do(context.Background(), func(context.Context) error { return nil })
	}
	st := b.Stats()
	fmt.Printf("acquired=%d rejected=%d wait p99=%v\n", st.Acquired, st.Rejected, st.Wait.Quantile(0.99))
	// Output:
	// acquired=3 rejected=0 wait p99=0s
}

// A CoDel queue: once it has stood for an interval, waiters past the
// target are refused when a slot frees, and the newest waiter is served.
func ExampleQueueDiscipline() {
	b := bulkhead.MustNew(bulkhead.Config{Name: "search", MaxConcurrent: 1, MaxQueue: 100, Queue: bulkhead.CoDel,
		CoDelTarget: 5 * time.Millisecond, CoDelInterval: 50 * time.Millisecond})
	release, _ := b.Acquire(context.Background())
	early := make(chan error, 1)
	go func() { early <- b.Do(context.Background(), func(context.Context) error { return nil }) }()
	fmt.Println("early waiter:", <-early) // it waited its interval: the queue stood that long
	release()
	st := b.Stats()
	fmt.Println("shed:", st.Shed)
	// Output:
	// early waiter: bulkhead "search": wait timeout
	// shed: 1
}
