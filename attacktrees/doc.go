// Package attacktrees owns the attack-tree model: the YAML schema (docs/attack-trees.md), the
// strict loader and validator, the embedded CNCF FSUG Kubernetes catalog, and the catalog graph
// (gonum/graph) in which every tree, shared node and subtree reference is one graph, and its
// expansion: the acyclic AND/OR model that path counting and the Open-PSA export read, with
// subtree boxes as AND(target, OR(children)) and reference cycles between trees resolved as a
// least fixpoint (docs/semantics.md, "Subtree boxes").
//
// It knows nothing of policies, probes or statuses: those belong downstream (mapping, policies,
// analyzer). It must not panic on any input; every problem with a file is an *Error naming the
// file, line and node, and a load reports all of a file's problems at once (Errors).
//
// Parsing is O(size of the file); Build is O(nodes + edges), cycle detection included (Tarjan);
// Expansion is O(nodes + edges) off reference cycles and, on a cycle with b boxes, at most 2^b
// copies of each of its nodes (see Expansion).
package attacktrees
