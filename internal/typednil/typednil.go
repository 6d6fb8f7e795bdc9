// Package typednil tells a nil pointer (or map, func, chan, slice) inside
// a non-nil interface: a failed New's (*T)(nil) passed as a Policy, which
// compares unequal to nil and panics on its first call.
package typednil

import "reflect"

// Is reports whether v is nil or holds a nil pointer, map, func, chan,
// slice or interface.
func Is(v any) bool {
	if v == nil {
		return true
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice, reflect.Interface:
		return r.IsNil()
	}
	return false
}

// Describe names what Is found, for an error message: "nil", or "a nil
// *timeout.Timeout".
func Describe(v any) string {
	if v == nil {
		return "nil"
	}
	return "a nil " + reflect.TypeOf(v).String()
}
