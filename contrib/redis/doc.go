// Package watertightredis shows what a go-redis client's connection pool
// does, with watertight's instruments. Instrument adds a hook to a client
// that times every command (and every pipeline, as one) in a
// poolwait.Recorder and in the ledger of the request that ran it, and
// returns a Pool, a poolwait.Pool that the metric adapters
// (contrib/prometheus, contrib/otel) and the dashboard read beside every
// other pool:
//
//	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 20})
//	cache, err := watertightredis.Instrument(rdb, watertightredis.Config{Name: "cache"})
//	...
//	collector.Add(cache)
//	dash.Add(cache)
//
// # What is exact, what is a mean
//
// Exact: each command's time, from the hook's call to its return, the
// connection checkout included (a pipeline is one entry); the gauges —
// connections in use and idle, callers waiting for one now — and the
// counts — checkouts that found an idle connection or made one, that
// timed out (Options.PoolTimeout) — as go-redis's PoolStats tells them
// at the moment of the read. A mean: the checkout wait, which go-redis
// counts as a number of waits and their total, not one by one, so the
// pool has no wait quantiles (PoolStats.WaitMeasured is false), as for
// database/sql. go-redis keeps no hold times either.
//
// In a request's ledger (package ledger), under Config.Name: each command
// and pipeline, an Attempt entry with its outcome; redis.Nil (the key is
// not there) is an answer, not a failure. A connection that go-redis
// makes for a request says hello first (HELLO, CLIENT SETINFO, as one
// pipeline), which is timed and recorded too: it is the request's time.
// A server older than 7.2 refuses CLIENT SETINFO, which go-redis ignores
// and the entry shows as failed; Options.DisableIdentity drops it.
//
// # What it costs
//
// A command costs two clock reads and a Recorder's Observe more, and no
// allocation: see BenchmarkHook, beside the same client without it.
//
// It is a module of its own (github.com/watertight-go/watertight/contrib/redis),
// so that a service that does not use go-redis downloads none of it.
package watertightredis
