// Package orphan runs the callbacks that are called from a goroutine with
// no caller to panic to: a pool's worker (OnPanic), an abandoned call's
// goroutine (OnLate). A panic there would end the process; it is
// recovered and logged instead, and the goroutine goes on.
package orphan

import (
	"log/slog"
	"runtime/debug"
)

// Call calls f(event). If f panics, the panic is logged with slog.Error —
// what, the callback's name ("pool: OnPanic"), instance, the instance's
// name, the value and the stack — and Call returns normally.
func Call[E any](what, instance string, f func(E), event E) {
	defer func() {
		if v := recover(); v != nil {
			slog.Error(what+" panicked; the panic was recovered, as nothing could take it", "name", instance, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	f(event)
}
