package openbreaker_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/internal/openbreaker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestIn(t *testing.T) {
	b := breaker.MustNew(breaker.Config{WindowCalls: 1})
	nested := watertight.Chain(watertight.Chain(), watertight.Chain(watertight.Chain(), b))
	assert.False(t, openbreaker.In(nested))
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	assert.True(t, openbreaker.In(b))
	assert.True(t, openbreaker.In(nested), "found at any depth")
	assert.False(t, openbreaker.In(watertight.Chain()))
}
