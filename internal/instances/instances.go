// Package instances is what the metric adapters (contrib/prometheus,
// contrib/otel) share: which watertight values they can read, and how to
// find every instance inside a chain or a per-host transport.
package instances

import (
	"fmt"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/hedge"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// Check returns an error, prefixed with who ("watertightprom: Add"), for
// the first value that is not a readable instance or is a nil pointer:
// *bulkhead.Bulkhead, *timeout.Timeout, *pool.Pool, *breaker.Breaker,
// *retry.Retry, *hedge.Hedge, *budget.Budget, *httpguard.Hosts,
// *poolwait.ConnWaits, a poolwait.Pool (a *poolwait.DB, contrib/pgx's
// Tracer, contrib/redis's Pool) with a name, or a Chain.
func Check(who string, values []any) error {
	for _, v := range values {
		var isNil bool
		switch v := v.(type) {
		case *bulkhead.Bulkhead:
			isNil = v == nil
		case *timeout.Timeout:
			isNil = v == nil
		case *pool.Pool:
			isNil = v == nil
		case *breaker.Breaker:
			isNil = v == nil
		case *retry.Retry:
			isNil = v == nil
		case *budget.Budget:
			isNil = v == nil
		case *hedge.Hedge:
			isNil = v == nil
		case *httpguard.Hosts:
			isNil = v == nil
		case *poolwait.ConnWaits:
			isNil = v == nil
		case pool.JobKinds:
			if typednil.Is(v) {
				return fmt.Errorf("%s: %s", who, typednil.Describe(v))
			}
		case pool.JobKind:
			if typednil.Is(v) {
				return fmt.Errorf("%s: %s", who, typednil.Describe(v))
			}
			if v.JobKind() == "" {
				return fmt.Errorf("%s: the %T has no JobKind name", who, v)
			}
		case poolwait.Pool:
			if typednil.Is(v) {
				return fmt.Errorf("%s: %s", who, typednil.Describe(v))
			}
			if v.PoolName() == "" {
				return fmt.Errorf("%s: the %T has no PoolName: name the pool (poolwait.WithName, poolwait.ConnectorConfig.Name, the contrib adapters' Config.Name), which its metrics and its dashboard card carry", who, v)
			}
		case watertight.Policy:
			if broken, ok := v.(interface{ Err() error }); ok {
				return fmt.Errorf("%s: %w", who, broken.Err()) // a Chain that New refused
			}
			if watertight.Unwrap(v) == nil {
				return fmt.Errorf("%s: cannot read %T; it reads %s", who, v, Readable)
			}
		default:
			return fmt.Errorf("%s: cannot read %T; it reads %s", who, v, Readable)
		}
		if isNil {
			return fmt.Errorf("%s: nil %T", who, v)
		}
	}
	return nil
}

// Readable lists what Check accepts, for its errors.
const Readable = "*bulkhead.Bulkhead, *timeout.Timeout, *pool.Pool, *breaker.Breaker, *retry.Retry, *hedge.Hedge, *budget.Budget, *httpguard.Hosts, *poolwait.ConnWaits, a poolwait.Pool (*poolwait.DB, contrib/pgx, contrib/redis), a pool.JobKinds (contrib/river), and a Chain of them"

// Walk calls visit with v and, for a chain, with each policy in it, for an
// *httpguard.Hosts, with each host's policy, and for a *retry.Retry or a
// *hedge.Hedge, with its budget, recursively.
func Walk(v any, visit func(any)) {
	visit(v)
	switch v := v.(type) {
	case *retry.Retry:
		visit(v.Budget())
	case *hedge.Hedge:
		visit(v.Budget())
	case *httpguard.Hosts:
		for _, h := range v.Stats() {
			Walk(h.Policy, visit)
		}
	case pool.JobKinds:
		for _, k := range v.JobKinds() {
			visit(k)
		}
	case watertight.Policy:
		for _, p := range watertight.Unwrap(v) {
			Walk(p, visit)
		}
	}
}

// walkStatic is Walk without going into an *httpguard.Hosts.
func walkStatic(v any, visit func(any)) {
	visit(v)
	switch v := v.(type) {
	case *httpguard.Hosts, pool.JobKinds:
		return // they come and go: Visit deals with them
	case *retry.Retry:
		visit(v.Budget())
	case *hedge.Hedge:
		visit(v.Budget())
	}
	if p, ok := v.(watertight.Policy); ok {
		for _, inner := range watertight.Unwrap(p) {
			walkStatic(inner, visit)
		}
	}
}

// identity returns the kind and name under which v's metrics are
// exported, for the instances that export any.
func identity(v any) (kind, name string, ok bool) {
	switch v := v.(type) {
	case *bulkhead.Bulkhead:
		return "bulkhead", v.Name(), true
	case *timeout.Timeout:
		return "timeout", v.Name(), true
	case *pool.Pool:
		return "pool", v.Name(), true
	case *breaker.Breaker:
		return "breaker", v.Name(), true
	case *retry.Retry:
		return "retry", v.Name(), true
	case *budget.Budget:
		return "budget", v.Name(), true
	case *hedge.Hedge:
		return "hedge", v.Name(), true
	case poolwait.Pool:
		return "connection pool", v.PoolName(), true
	case pool.JobKind:
		return "job kind", v.JobKind(), true
	}
	return "", "", false
}

// Seen remembers which series one collection has exported, so that none
// goes out twice: Prometheus answers a scrape that has two series of one
// name and labels with an error, for every metric.
type Seen map[string]struct{}

// First reports whether kind and name come up for the first time, and
// remembers them.
func (s Seen) First(kind, name string) bool {
	k := kind + "\x00" + name
	if _, dup := s[k]; dup {
		return false
	}
	s[k] = struct{}{}
	return true
}

// Visit walks every source and visits each instance once: an instance met
// again (the same one added twice, or found through a chain as well) is
// skipped, and so is one of a kind and name already visited (two policies
// that a per-host factory gave one name). Chains, *httpguard.Hosts and
// *poolwait.ConnWaits are visited with seen, which they use for their
// per-host rows.
func Visit(sources []any, visit func(v any, seen Seen)) {
	seen := Seen{}
	for _, src := range sources {
		Walk(src, func(v any) {
			if kind, name, ok := identity(v); ok && !seen.First(kind, name) {
				return
			}
			visit(v, seen)
		})
	}
}

// CheckNames returns an error, prefixed with who, if two different
// instances among sources (and in the chains inside them) have one kind
// and one name: their series would collide. It does not look into an
// *httpguard.Hosts, whose policies come and go: Visit deals with those.
func CheckNames(who string, sources []any) error {
	byName := map[string]any{}
	var err error
	for _, src := range sources {
		walkStatic(src, func(v any) {
			kind, name, ok := identity(v)
			if !ok || err != nil {
				return
			}
			k := kind + "\x00" + name
			if other, dup := byName[k]; dup && other != v {
				err = fmt.Errorf("%s: two different %s instances are named %q; give each a Config.Name of its own", who, kind, name)
			}
			byName[k] = v
		})
	}
	return err
}

// StateLabel is a breaker state as a metric label or JSON value: closed,
// open, half_open — one spelling for every exporter.
func StateLabel(s breaker.State) string {
	if s == breaker.HalfOpen {
		return "half_open"
	}
	return s.String()
}
