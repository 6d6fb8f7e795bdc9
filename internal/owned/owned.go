// Package owned tells when one stateful value is given to two instances
// that would each use it as theirs alone: a backoff.BackOff as two
// breakers' OpenBackoff (it is not safe for concurrent use), an
// adaptive.Limit to two bulkheads (it would mix their calls into one
// limit). The registry forgets a value once its owner is garbage: a
// service that makes and drops instances (one per tenant) never fills it.
package owned

import (
	"reflect"
	"runtime"
	"sync"
)

var claims sync.Map // value → struct{}: claimed by a live owner

// Claim records that owner uses v as its own, and reports false if
// another live owner already does. Only values that are Shareable are
// tracked: a value of any other kind is a copy of its own (or holds no
// state), and Claim reports true.
// The claim ends when owner is garbage collected.
func Claim[T any](v any, owner *T) bool {
	if !Shareable(v) {
		return true
	}
	if _, taken := claims.LoadOrStore(v, struct{}{}); taken {
		return false
	}
	runtime.AddCleanup(owner, func(v any) { claims.Delete(v) }, v)
	return true
}

// Shareable reports whether v, when copied, still refers to the same
// state: a pointer (to a value with a size: every pointer to a zero-size
// value, such as &backoff.ZeroBackOff{}, may be the same one and holds no
// state), a map, a channel.
func Shareable(v any) bool {
	if v == nil {
		return false
	}
	t := reflect.TypeOf(v)
	switch t.Kind() {
	case reflect.Pointer:
		return t.Elem().Size() > 0
	case reflect.Map, reflect.Chan, reflect.UnsafePointer:
		return true
	}
	return false
}
