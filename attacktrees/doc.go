// Package attacktrees owns the attack-tree model: the YAML schema (docs/attack-trees.md), the
// strict loader and validator, the embedded CNCF FSUG Kubernetes catalog, and the catalog graph
// (gonum/graph) in which every tree, shared node and subtree reference is one DAG.
//
// It knows nothing of policies, probes or statuses: those belong downstream (mapping, policies,
// analyzer). It must not panic on any input; every problem with a file is an *Error naming the
// file, line and node, and a load reports all of a file's problems at once (Errors).
//
// Parsing is O(size of the file); Build is O(nodes + edges), cycle detection included (Tarjan).
package attacktrees
