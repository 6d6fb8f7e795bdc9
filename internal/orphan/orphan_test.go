package orphan_test

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/orphan"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAPanicIsLoggedAndCallReturns(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)

	var got int
	orphan.Call("pool: OnPanic", "jobs", func(n int) { got = n }, 7)
	assert.Equal(t, 7, got)
	assert.Empty(t, buf.String(), "nothing logged when f returns")

	orphan.Call("pool: OnPanic", "jobs", func(int) { panic("boom") }, 1)
	assert.Contains(t, buf.String(), "pool: OnPanic panicked")
	assert.Contains(t, buf.String(), "name=jobs")
	assert.Contains(t, buf.String(), "panic=boom")
	assert.Contains(t, buf.String(), "orphan_test.go")
}
