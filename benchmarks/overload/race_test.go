//go:build race

package overload

// raceEnabled: under the race detector the scenarios run ours only, at a
// tenth of their length, as a check for races and leaks; their targets
// are checked by the run without it (.ci/run runs both).
const raceEnabled = true
