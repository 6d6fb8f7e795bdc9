// Package rejection builds the errors that watertight policies return when
// they refuse to run a call: sentinels that match watertight.ErrRejected, and
// per-instance variants that name the instance without allocating on the
// path that returns them.
package rejection

import (
	"strconv"

	"github.com/watertight-go/watertight"
)

// Error is a package's sentinel for one reason of refusal ("bulkhead: full").
// It matches watertight.ErrRejected.
type Error struct{ Pkg, Phrase string }

// New returns the sentinel "pkg: phrase".
func New(pkg, phrase string) *Error { return &Error{Pkg: pkg, Phrase: phrase} }

func (e *Error) Error() string { return e.Pkg + ": " + e.Phrase }

// Is reports whether target is watertight.ErrRejected.
func (e *Error) Is(target error) bool { return target == watertight.ErrRejected }

// Named is a sentinel attributed to one named instance:
// `bulkhead "payments": full`. It unwraps to the sentinel.
type Named struct {
	msg string
	err *Error
}

// Name returns err attributed to the instance called name, or err itself if
// name is empty. Build it once per instance and return it as often as needed.
func Name(err *Error, name string) error {
	if name == "" {
		return err
	}
	return &Named{msg: err.Pkg + " " + strconv.Quote(name) + ": " + err.Phrase, err: err}
}

func (e *Named) Error() string { return e.msg }

// Unwrap returns the sentinel.
func (e *Named) Unwrap() error { return e.err }
