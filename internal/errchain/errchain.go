// Package errchain finds an error in a chain the way errors.As does,
// depth first through Unwrap() error and Unwrap() []error, without the
// allocation that errors.As makes for its target: the retry path asks on
// every failed attempt.
package errchain

// Find returns the first error in err's chain for which match is true, or
// nil. Unlike errors.As it does not call As methods.
func Find(err error, match func(error) bool) error {
	for err != nil {
		if match(err) {
			return err
		}
		switch x := err.(type) {
		case interface{ Unwrap() error }:
			err = x.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				if found := Find(e, match); found != nil {
					return found
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}
