// Package withindo knows which policies call fn only while their Do runs:
// never after Do returned (as a hedge launched as the call was decided, or
// an abandoning timeout's goroutine, may). What hands such a policy a fn
// bound to a record (Chain's frames, httpguard's per-request records,
// contrib/grpc's per-call ones) may reuse the record for the next call;
// for any other policy, a user's included, it makes a new one per call,
// because a call after Do returned would find the record serving another
// request.
package withindo

import (
	"reflect"
	"sync"
)

var kinds sync.Map // reflect.Type → func(any) bool

// Register tells that a *T calls fn only while its Do runs when only
// reports true for it (nil: always). Packages call it from init.
func Register[T any](only func(*T) bool) {
	kinds.Store(reflect.TypeFor[*T](), func(v any) bool { return only == nil || only(v.(*T)) })
}

// Only reports whether p is known to call fn only while its Do runs.
func Only(p any) bool {
	if p == nil {
		return false
	}
	f, ok := kinds.Load(reflect.TypeOf(p))
	return ok && f.(func(any) bool)(p)
}
