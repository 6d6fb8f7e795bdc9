// Package instances is what the metric adapters (contrib/prometheus,
// contrib/otel) share: which watertight values they can read, and how to
// find every instance inside a chain or a per-host transport.
package instances

import (
	"fmt"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
	"github.com/watertight-go/watertight/timeout"
)

// Check returns an error, prefixed with who ("watertightprom: Add"), for
// the first value that is not a readable instance or is a nil pointer:
// *bulkhead.Bulkhead, *timeout.Timeout, *pool.Pool, *breaker.Breaker,
// *httpguard.Hosts, *poolwait.ConnWaits, or a Chain.
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
		case *httpguard.Hosts:
			isNil = v == nil
		case *poolwait.ConnWaits:
			isNil = v == nil
		case interface{ Unwrap() []watertight.Policy }:
		default:
			return fmt.Errorf("%s: cannot read %T", who, v)
		}
		if isNil {
			return fmt.Errorf("%s: nil %T", who, v)
		}
	}
	return nil
}

// Walk calls visit with v and, for a chain, with each policy in it, and
// for an *httpguard.Hosts, with each host's policy, recursively.
func Walk(v any, visit func(any)) {
	visit(v)
	switch v := v.(type) {
	case *httpguard.Hosts:
		for _, h := range v.Stats() {
			Walk(h.Policy, visit)
		}
	case interface{ Unwrap() []watertight.Policy }:
		for _, p := range v.Unwrap() {
			Walk(p, visit)
		}
	}
}
