package watertightredis

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/poolwait"
)

// Client is what Instrument needs of a go-redis client: *redis.Client,
// *redis.ClusterClient, *redis.Ring and redis.UniversalClient have it.
type Client interface {
	AddHook(redis.Hook)
	PoolStats() *redis.PoolStats
}

// Config configures Instrument.
type Config struct {
	// Name names the client's pool: in ledger entries, metrics and on the
	// dashboard. Required: two pools must not share one.
	Name string
}

// Pool is a go-redis client's pool as watertight reads it: a
// poolwait.Pool, and the time of every command. Make it with Instrument.
type Pool struct {
	name   string
	client Client
	max    int
	cmds   poolwait.Recorder
}

// Instrument adds a hook to client that times every command, and returns
// the client's Pool. Instrument a client once: each call adds a hook, and
// two would time every command twice. A nil client, or no Name, is an
// error.
func Instrument(client Client, cfg Config) (*Pool, error) {
	switch {
	case typednil.Is(client):
		return nil, errors.New("watertightredis: Instrument: client is " + typednil.Describe(client))
	case cfg.Name == "":
		return nil, errors.New("watertightredis: Config.Name is required: it names the pool in metrics, ledgers and on the dashboard")
	}
	p := &Pool{name: cfg.Name, client: client}
	if c, ok := client.(*redis.Client); ok {
		p.max = c.Options().PoolSize // a cluster's or a ring's is per node: not known here
	}
	client.AddHook(hook{p})
	return p, nil
}

// hook times commands for p.
type hook struct{ p *Pool }

// DialHook is go-redis's: dials are not timed.
func (hook) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook is go-redis's: a command is timed.
func (h hook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := monotime.Now()
		err := next(ctx, cmd)
		h.p.done(ctx, start, err)
		return err
	}
}

// ProcessPipelineHook is go-redis's: a pipeline is timed as one command.
func (h hook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := monotime.Now()
		err := next(ctx, cmds)
		h.p.done(ctx, start, err)
		return err
	}
}

// done records a command, or a pipeline, that started at start.
func (p *Pool) done(ctx context.Context, start int64, err error) {
	end := monotime.Now()
	p.cmds.Observe(time.Duration(end - start))
	if errors.Is(err, redis.Nil) {
		err = nil // the key is not there: the server answered
	}
	record.Span(ctx, p.name, ledger.Attempt, start, end, record.Outcome(err))
}

// PoolName returns Config.Name.
func (p *Pool) PoolName() string {
	if p == nil {
		return ""
	}
	return p.name
}

// Commands returns the time every command (and pipeline) took.
func (p *Pool) Commands() poolwait.Stats {
	if p == nil {
		return poolwait.Stats{}
	}
	return p.cmds.Stats()
}

// PoolStats reads the client's redis.PoolStats: connections in use and
// idle, the pool's size (a *redis.Client's PoolSize; 0 for a cluster or
// a ring, whose pools are per node), callers waiting now, the checkouts
// that waited and their total wait (a mean), the checkouts that timed
// out, and the checkouts made (hits and misses).
func (p *Pool) PoolStats() poolwait.PoolStats {
	if p == nil {
		return poolwait.PoolStats{Kind: "redis"}
	}
	ps := poolwait.PoolStats{Kind: "redis", Max: p.max}
	st := p.client.PoolStats()
	if st == nil {
		return ps
	}
	ps.Idle = int(st.IdleConns)
	ps.InUse = max(0, int(st.TotalConns)-int(st.IdleConns))
	ps.Pending = int(st.PendingRequests)
	ps.Waits, ps.WaitTotal = uint64(st.WaitCount), time.Duration(st.WaitDurationNs)
	ps.Timeouts = uint64(st.Timeouts)
	ps.Acquired = uint64(st.Hits) + uint64(st.Misses)
	return ps
}
