// Package openbreaker tells whether a policy holds a breaker that is not
// closed: state that a per-host or per-method cache must not forget, or it
// would call a dependency that is down as if it were new.
package openbreaker

import (
	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
)

// In reports whether p, or a policy inside it (watertight.Unwrap, to any
// depth), is a breaker that is open or half-open.
func In(p watertight.Policy) bool {
	if b, ok := p.(*breaker.Breaker); ok {
		return b.State() != breaker.Closed
	}
	for _, inner := range watertight.Unwrap(p) {
		if In(inner) {
			return true
		}
	}
	return false
}
