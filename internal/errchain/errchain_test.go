package errchain_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/errchain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type marked struct{ n int }

func (m *marked) Error() string { return fmt.Sprint("marked ", m.n) }

func isMarked(err error) bool { _, ok := err.(*marked); return ok }

func TestFind(t *testing.T) {
	m1, m2 := &marked{1}, &marked{2}
	assert.Nil(t, errchain.Find(nil, isMarked))
	assert.Nil(t, errchain.Find(errors.New("plain"), isMarked))
	assert.Same(t, m1, errchain.Find(m1, isMarked))
	assert.Same(t, m1, errchain.Find(fmt.Errorf("a: %w", fmt.Errorf("b: %w", m1)), isMarked))
	assert.Same(t, m2, errchain.Find(errors.Join(errors.New("x"), fmt.Errorf("y: %w", m2), m1), isMarked), "depth first, in order")
	wrapped := errors.Join(errors.New("x"), fmt.Errorf("a: %w", m1))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = errchain.Find(wrapped, isMarked) }))
}
