//go:build race

package watertight_test

// raceEnabled: the race detector makes sync.Pool drop what it is given
// now and then, so allocation counts are not checked under it.
const raceEnabled = true
