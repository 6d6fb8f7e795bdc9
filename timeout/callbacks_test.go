package timeout_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/watertight-go/watertight/timeout"
)

// An OnLate that panics runs on the abandoned call's goroutine, which has
// no caller: the panic is logged, and the process lives on.
func TestAPanickingOnLateIsLogged(t *testing.T) {
	var logged bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	defer slog.SetDefault(old)
	synctest.Test(t, func(t *testing.T) {
		to := timeout.MustNew(timeout.Config{Name: "slow", Duration: 10 * time.Millisecond, Abandon: true,
			OnLate: func(timeout.Late) { panic("in OnLate") }})
		err := to.Do(t.Context(), func(context.Context) error {
			<-time.After(time.Second) // ignores its ctx
			return nil
		})
		assert.ErrorIs(t, err, timeout.ErrExceeded)
		synctest.Wait()
		<-time.After(time.Second)
		synctest.Wait()
		assert.Zero(t, to.Stats().Abandoned)
	})
	assert.Contains(t, logged.String(), "timeout: OnLate panicked")
	assert.Contains(t, logged.String(), "name=slow")
}
