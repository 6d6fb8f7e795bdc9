// Package benchmarks compares watertight's packages with their peers in
// the Go ecosystem, on the same work in the same run. It is a separate
// module so that the peers never enter watertight's own go.mod.
package benchmarks
