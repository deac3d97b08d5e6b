// Package pipeline assembles an analysis from what the user names: it loads the attack trees,
// the probes and the mapping, reads the deployed policy set from files and a cluster (merged),
// compiles it once, chooses the namespaces, and runs the analyzer. Every command, `serve` and
// the tests go through Load or Run, so the wiring a user runs is the wiring that is tested.
//
// It owns no concept of its own: each step is a call into the package that owns it
// (attacktrees, probes, mapping, policies, cluster, analyzer). It prints nothing except to the
// writers in Config.
//
// Cost: policies are read and compiled while the trees, probes and mapping load (the two
// overlap on two cores); the rest is the analyzer's cost (see its package doc).
package pipeline
