// Package openpsa imports Open-PSA Model Exchange Format (MEF) fault trees into the attack-tree
// schema (docs/attack-trees.md), so that existing fault-tree and attack-tree models come in, and
// exports a loaded catalog as MEF (Export: one fault tree per goal, written from the catalog's
// expansion), so that an independent tool such as SCRAM can recount its minimal attack paths.
//
// One file becomes one tree (id from the file name; title from the fault trees' names or
// labels). Every fault tree of the file contributes: a top gate (a gate no other gate
// references) is a goal; other gates and nested formulas are and/or/atleast nodes; basic events
// are steps. A formula with no operator (a bare gate or event reference) makes an OR with one
// child: the gate is reached through it. <event name> references resolve to a gate of that name
// if there is one, else to a basic event. A basic event need not be defined in the file (its
// definition carries only probabilities, which attack paths ignore; SCRAM's examples keep them
// in a separate file). A node id is the tree id, '-', and the name lower-cased with every run of
// characters other than [a-z0-9] replaced by '-' (the tree prefix keeps ids unique across
// imported models and the catalog), made unique with -2, -3, ... in depth-first order from the
// goals, which is also the order of the tree's nodes; a label is the original name, followed by
// ": " and the MEF <label> when there is one.
//
// It refuses, with an *attacktrees.Error naming file, line and gate: negation and the operators
// built on it (not, xor, nand, nor, iff, imply, cardinality), house events and Boolean constants,
// common-cause groups, substitutions, event trees, private (scoped) names, XML with a DTD or
// entity declarations (nothing is ever expanded), nesting deeper than MaxDepth and files larger
// than MaxSize. It never panics on input and never recurses on the model's depth.
//
// It must not import the analyzer: it only builds trees and writes them. Cost: Import is linear in
// the file; Export is linear in the expansion below each goal, summed over the goals.
package openpsa
