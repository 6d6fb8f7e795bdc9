package timeout

import (
	"fmt"
	"time"

	"github.com/watertight-go/watertight/internal/durations"
)

// Config configures a Timeout. The zero value is not valid: Duration is
// required.
type Config struct {
	// Name identifies the timeout in errors, Late reports and metrics.
	// Empty: errors say just "timeout".
	Name string

	// Duration is how long fn may run. Required, at least 1 ms (a bare
	// number is nanoseconds: 10 is an error, not 10 ns). If the caller's ctx
	// has an earlier deadline, that one applies (and is the caller's).
	Duration time.Duration

	// Abandon makes Do return at the deadline even if fn has not returned:
	// fn runs on in its own goroutine, which ends when fn returns. False:
	// Do cancels fn's context at the deadline and waits for fn to return.
	Abandon bool

	// OnLate receives the result of each abandoned call when fn finally
	// returns (or panics), from fn's goroutine. Nil: late results are
	// dropped, except panics, which are logged with slog.Error and their
	// stack. Used only with Abandon.
	OnLate func(Late)

	// MinRemaining refuses to start a call when the caller's ctx has less
	// than this left before its deadline: Do returns ErrNoBudget without
	// calling fn. Zero: calls always start. Use it when one request's
	// budget is split across several calls, so that a call that cannot
	// finish in time is not started at all.
	MinRemaining time.Duration
}

func (c Config) validate() error {
	if c.Duration <= 0 {
		return fmt.Errorf("timeout: Config.Duration must be > 0, got %v", c.Duration)
	}
	if err := durations.First(durations.Check("timeout", "Config.Duration", c.Duration), durations.Check("timeout", "Config.MinRemaining", c.MinRemaining)); err != nil {
		return err
	}
	switch {
	case c.OnLate != nil && !c.Abandon:
		return fmt.Errorf("timeout: Config.OnLate is set but Config.Abandon is false: only abandoned calls are late")
	}
	return nil
}

// Late is the result of an abandoned call, reported to Config.OnLate when
// fn finally returns.
type Late struct {
	Name    string        // Config.Name
	Err     error         // fn's error, nil if it succeeded or panicked
	Panic   any           // the value fn panicked with, or nil
	Stack   []byte        // fn's stack at the panic, or nil
	Elapsed time.Duration // from the start of the call until fn returned
	Goexit  bool          // fn called runtime.Goexit
}
