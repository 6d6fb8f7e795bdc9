package watertightpgx

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/watertight-go/watertight/poolwait"
)

// PoolName returns Config.Name: the pool's, for poolwait.Pool.
func (t *Tracer) PoolName() string {
	if t == nil {
		return ""
	}
	return t.name
}

// PoolStats reads the pool: pgxpool.Stat's gauges and its count of
// acquires that found no idle connection, and the waits, holds, failures,
// cancellations and leaks the Tracer measured. Before the Tracer has seen
// the pool (NewPool shows it at once; a Tracer set by hand sees it at the
// first acquire), the gauges are zero.
func (t *Tracer) PoolStats() poolwait.PoolStats {
	if t == nil {
		return poolwait.PoolStats{Kind: "pgx"}
	}
	ps := poolwait.PoolStats{Kind: "pgx", WaitMeasured: true, HoldMeasured: true, Pending: max(0, int(t.pending.Load()))}
	ps.Wait = t.wait.Stats()
	ps.Hold, ps.OpenLeaks, ps.Leaks = t.holds.Stats()
	ps.Acquired, ps.Failed, ps.Canceled = ps.Wait.Count, t.failed.Load(), t.canceled.Load()
	if p := t.pool.Load(); p != nil {
		st := p.Stat()
		ps.InUse, ps.Idle, ps.Max = int(st.AcquiredConns()), int(st.IdleConns()), int(st.MaxConns())
		ps.Waits, ps.WaitTotal = uint64(st.EmptyAcquireCount()), st.EmptyAcquireWaitTime()
	}
	return ps
}

// Queries returns the time every query, batch and copy took.
func (t *Tracer) Queries() poolwait.Stats {
	if t == nil {
		return poolwait.Stats{}
	}
	return t.query.Stats()
}

// Stat returns the pool's own pgxpool.Stat, for what PoolStats does not
// carry (connections being made, destroyed for their lifetime); nil
// before the Tracer has seen the pool.
func (t *Tracer) Stat() *pgxpool.Stat {
	if t == nil {
		return nil
	}
	if p := t.pool.Load(); p != nil {
		return p.Stat()
	}
	return nil
}
