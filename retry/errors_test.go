package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/watertight-go/watertight/retry"
)

func TestIsPermanent(t *testing.T) {
	errBad := errors.New("400 bad request")
	assert.True(t, retry.IsPermanent(retry.Permanent(errBad)))
	assert.True(t, retry.IsPermanent(fmt.Errorf("sending: %w", retry.Permanent(errBad))), "wrapped")
	assert.False(t, retry.IsPermanent(errBad))
	assert.False(t, retry.IsPermanent(nil))
	assert.ErrorIs(t, retry.Permanent(errBad), errBad)

	// Do gives back the error inside, without the mark: look inside fn.
	r := retry.MustNew(retry.Config{Name: "x"})
	var seen bool
	err := r.Do(context.Background(), func(context.Context) error {
		err := retry.Permanent(errBad)
		seen = retry.IsPermanent(err)
		return err
	})
	assert.Same(t, errBad, err)
	assert.False(t, retry.IsPermanent(err), "the mark is gone outside Do")
	assert.True(t, seen)
}
