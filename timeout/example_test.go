package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/watertight-go/watertight/timeout"
)

// Cooperative: fn honours its context, so Do returns at the deadline with
// nothing left running.
func ExampleTimeout_Do() {
	query := timeout.MustNew(timeout.Config{Name: "orders-db", Duration: 10 * time.Millisecond})

	err := query.Do(context.Background(), func(ctx context.Context) error {
		<-ctx.Done() // a query that takes too long; the driver sees the deadline
		return ctx.Err()
	})
	fmt.Println(errors.Is(err, timeout.ErrExceeded), errors.Is(err, context.DeadlineExceeded))
	fmt.Println(err)
	fmt.Println("exceeded:", query.Stats().Exceeded)
	// Output:
	// true true
	// timeout "orders-db": deadline of 10ms exceeded: context deadline exceeded
	// exceeded: 1
}

// Abandon: fn ignores its context; Do returns at the deadline and the late
// result arrives in OnLate.
func ExampleConfig_abandon() {
	lateResult := make(chan timeout.Late, 1)
	legacy := timeout.MustNew(timeout.Config{
		Name:     "legacy-soap",
		Duration: 10 * time.Millisecond,
		Abandon:  true,
		OnLate:   func(l timeout.Late) { lateResult <- l },
	})

	unblock := make(chan struct{})
	err := legacy.Do(context.Background(), func(context.Context) error {
		<-unblock // stuck in a call that takes no context
		return errors.New("soap fault")
	})
	fmt.Println(err)
	fmt.Println("still running:", legacy.Stats().Abandoned)

	close(unblock)
	fmt.Println("late:", (<-lateResult).Err)
	// Output:
	// timeout "legacy-soap": deadline of 10ms exceeded
	// still running: 1
	// late: soap fault
}

// Nested budgets: one request, one total deadline, several calls. The outer
// Timeout bounds the whole request; each inner one bounds its own call
// within what is left, and a call that cannot finish in what is left is not
// started.
func ExampleConfig_budget() {
	request := timeout.MustNew(timeout.Config{Name: "request", Duration: time.Second})
	lookup := timeout.MustNew(timeout.Config{Name: "lookup", Duration: 700 * time.Millisecond})
	render := timeout.MustNew(timeout.Config{Name: "render", Duration: 300 * time.Millisecond, MinRemaining: 500 * time.Millisecond})

	err := request.Do(context.Background(), func(ctx context.Context) error {
		err := lookup.Do(ctx, func(ctx context.Context) error {
			<-ctx.Done() // a lookup that hangs until its own deadline
			return ctx.Err()
		})
		fmt.Println("lookup:", err)

		// About 300ms of the second are left: not enough for render.
		return render.Do(ctx, func(ctx context.Context) error {
			fmt.Println("not started: it could not finish in time")
			return nil
		})
	})
	fmt.Println("request:", err, errors.Is(err, timeout.ErrExceeded))
	// Output:
	// lookup: timeout "lookup": deadline of 700ms exceeded: context deadline exceeded
	// request: timeout: not enough time left to start the call true
}

func ExampleRemaining() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	left, ok := timeout.Remaining(ctx)
	fmt.Println(ok, left > 900*time.Millisecond && left <= time.Second)

	_, ok = timeout.Remaining(context.Background())
	fmt.Println(ok)
	// Output:
	// true true
	// false
}

func ExampleDo() {
	err := timeout.Do(context.Background(), 5*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	fmt.Println(errors.Is(err, timeout.ErrExceeded))

	fmt.Println(timeout.Do(context.Background(), 0, func(context.Context) error { return nil }))
	// Output:
	// true
	// timeout: Do: d must be at least 1ms, got 0s
}

// LogLate reports what abandoned calls did after their caller left.
func ExampleLogLate() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == "elapsed" {
			return slog.Attr{} // deterministic output
		}
		return a
	}}))
	done := make(chan struct{})
	geo := timeout.MustNew(timeout.Config{
		Name: "geo", Duration: time.Millisecond, Abandon: true,
		OnLate: func(l timeout.Late) { timeout.LogLate(logger)(l); close(done) },
	})
	err := geo.Do(context.Background(), func(context.Context) error {
		<-time.After(20 * time.Millisecond) // ignores its ctx: abandoned
		return errors.New("connection reset")
	})
	fmt.Println(errors.Is(err, timeout.ErrExceeded))
	<-done
	// Output:
	// true
	// level=WARN msg="timeout: abandoned call failed" name=geo error="connection reset"
}
