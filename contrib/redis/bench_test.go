package watertightredis_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	watertightredis "github.com/watertight-go/watertight/contrib/redis"
	"github.com/watertight-go/watertight/internal/servertest"
)

// BenchmarkPing is a PING to a real redis-server on loopback, through a
// client with the hook and one without (the floor): a round trip, whose
// noise is far larger than the hook, which BenchmarkHook measures alone.
func BenchmarkPing(b *testing.B) {
	addr := servertest.Redis(b)
	hooked := redis.NewClient(&redis.Options{Addr: addr})
	defer hooked.Close()
	_, err := watertightredis.Instrument(hooked, watertightredis.Config{Name: "cache"})
	require.NoError(b, err)
	bare := redis.NewClient(&redis.Options{Addr: addr})
	defer bare.Close()
	for _, c := range []struct {
		name   string
		client *redis.Client
	}{{"hooked", hooked}, {"floor=bare", bare}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.client.Ping(context.Background()).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.client.Ping(context.Background()).Err(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// hookOnly is a client that only keeps the hook it is given.
type hookOnly struct{ hook redis.Hook }

func (h *hookOnly) AddHook(hook redis.Hook)     { h.hook = hook }
func (h *hookOnly) PoolStats() *redis.PoolStats { return nil }

// BenchmarkHook is what the hook adds to a command, alone: the hook
// around a command that does nothing, beside that command called
// directly (the floor).
func BenchmarkHook(b *testing.B) {
	var c hookOnly
	_, err := watertightredis.Instrument(&c, watertightredis.Config{Name: "cache"})
	require.NoError(b, err)
	nothing := func(context.Context, redis.Cmder) error { return nil }
	cmd := redis.NewStatusCmd(context.Background(), "ping")
	for _, v := range []struct {
		name    string
		process redis.ProcessHook
	}{{"hook", c.hook.ProcessHook(nothing)}, {"floor=no-hook", nothing}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = v.process(context.Background(), cmd)
			}
		})
		b.Run(v.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = v.process(context.Background(), cmd)
				}
			})
		})
	}
}
