package watertightredis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	watertightredis "github.com/watertight-go/watertight/contrib/redis"
	"github.com/watertight-go/watertight/internal/servertest"
	"github.com/watertight-go/watertight/ledger"
)

// These tests run a real redis-server (internal/servertest), made slow
// with its own means: BLPOP on an empty list holds a connection until its
// timeout. They run on real time, and bound durations only from below
// (the server's own timeouts), never wait for a state by sleeping.

func TestMain(m *testing.M) { goleak.VerifyTestMain(servertest.Main(m)) }

func newClient(t *testing.T, opts redis.Options) *redis.Client {
	t.Helper()
	opts.Addr = servertest.Redis(t)
	rdb := redis.NewClient(&opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestCommandsAreTimedAndInTheLedger(t *testing.T) {
	rdb := newClient(t, redis.Options{PoolSize: 1, MaxRetries: -1})
	cache, err := watertightredis.Instrument(rdb, watertightredis.Config{Name: "cache"})
	require.NoError(t, err)
	require.NoError(t, rdb.Ping(t.Context()).Err()) // the connection's handshake, before the request
	before := cache.Commands()

	ctx, l := ledger.Start(t.Context())
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	require.ErrorIs(t, rdb.Get(ctx, "missing").Err(), redis.Nil)
	require.Error(t, rdb.Do(ctx, "NOSUCHCOMMAND").Err())
	_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "n")
		p.Incr(ctx, "n")
		return nil
	})
	require.NoError(t, err)
	require.ErrorIs(t, rdb.BLPop(ctx, time.Second, "empty").Err(), redis.Nil, "BLPOP timed out")

	entries := l.Entries()
	var outcomes []string
	for _, e := range entries {
		assert.Equal(t, "cache", e.Name)
		assert.Equal(t, ledger.Attempt, e.Kind)
		outcomes = append(outcomes, e.Outcome)
	}
	// SET, GET of a missing key (redis.Nil is an answer), an unknown
	// command, the pipeline as one entry, BLPOP; and, if go-redis made a
	// new connection meanwhile, its handshake.
	require.GreaterOrEqual(t, len(entries), 5)
	assert.Equal(t, []string{"", "", "failed", ""}, outcomes[:4])
	last := entries[len(entries)-1]
	assert.Empty(t, last.Outcome)
	assert.GreaterOrEqual(t, last.Duration, time.Second, "BLPOP waited its timeout")
	cmds := cache.Commands()
	assert.Equal(t, uint64(len(entries)), cmds.Count-before.Count, "every command timed is in the ledger")
	assert.GreaterOrEqual(t, cmds.Max, time.Second)
}

func TestAFullPoolShowsItsWaitsAndTimeouts(t *testing.T) {
	rdb := newClient(t, redis.Options{PoolSize: 2, PoolTimeout: 150 * time.Millisecond, MinIdleConns: 2, MaxRetries: -1})
	cache, err := watertightredis.Instrument(rdb, watertightredis.Config{Name: "cache"})
	require.NoError(t, err)
	require.NoError(t, rdb.Ping(t.Context()).Err())

	// Two BLPOPs hold both connections 1 s; three more commands wait for
	// one, and two of them give up after the pool's 150 ms timeout.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			assert.ErrorIs(t, rdb.BLPop(t.Context(), time.Second, "empty").Err(), redis.Nil)
		})
	}
	require.Eventually(t, func() bool { return cache.PoolStats().InUse == 2 && cache.PoolStats().Idle == 0 }, time.Minute, time.Millisecond)
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() { errs <- rdb.Get(t.Context(), "k").Err() })
	}
	require.Eventually(t, func() bool { return cache.PoolStats().Pending == 2 }, time.Minute, time.Millisecond, "two callers wait for a connection")
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.ErrorIs(t, err, redis.ErrPoolTimeout)
	}

	ps := cache.PoolStats()
	t.Logf("pool: in use %d, idle %d, max %d, waits %d (total %v), timeouts %d, checkouts %d", ps.InUse, ps.Idle, ps.Max, ps.Waits, ps.WaitTotal, ps.Timeouts, ps.Acquired)
	assert.Equal(t, "redis", ps.Kind)
	assert.Equal(t, 2, ps.Max)
	assert.Equal(t, uint64(2), ps.Timeouts)
	assert.Zero(t, ps.Pending)
	assert.False(t, ps.WaitMeasured)
	assert.False(t, ps.HoldMeasured)
	assert.GreaterOrEqual(t, ps.Acquired, uint64(3))
}

func TestInstrumentErrors(t *testing.T) {
	var nilClient *redis.Client
	unnamed := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer unnamed.Close()
	for _, c := range []struct {
		client watertightredis.Client
		cfg    watertightredis.Config
		want   string
	}{
		{nil, watertightredis.Config{Name: "cache"}, "watertightredis: Instrument: client is nil"},
		{nilClient, watertightredis.Config{Name: "cache"}, "watertightredis: Instrument: client is a nil *redis.Client"},
		{unnamed, watertightredis.Config{}, "watertightredis: Config.Name is required: it names the pool in metrics, ledgers and on the dashboard"},
	} {
		_, err := watertightredis.Instrument(c.client, c.cfg)
		assert.EqualError(t, err, c.want)
	}
}

func TestAClusterClientHasNoKnownMax(t *testing.T) {
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{servertest.Redis(t)}, PoolSize: 3})
	defer c.Close()
	p, err := watertightredis.Instrument(c, watertightredis.Config{Name: "cluster"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_ = c.Ping(ctx).Err() // a plain server is no cluster: the answer does not matter here
	assert.Zero(t, p.PoolStats().Max, "a cluster's pools are per node")
}

func TestANilPoolIsANoOp(t *testing.T) {
	var p *watertightredis.Pool
	assert.Empty(t, p.PoolName())
	assert.Zero(t, p.Commands().Count)
	assert.Equal(t, "redis", p.PoolStats().Kind)
}
