// Package adtool imports ADTool attack(-defence) trees (the XML ADTool 2 saves: <adtree>,
// nested <node refinement="disjunctive|conjunctive|sequential"> with a <label>) into the
// attack-tree schema (docs/attack-trees.md), so that existing models come in.
//
// One file becomes one tree: the root node is the goal (its refinement is the goal's gate),
// refined nodes are and/or nodes, unrefined nodes are steps. "sequential" (SAND) refinements
// become AND: the order of the steps does not change which steps a path needs. ADTool nodes are
// a tree, so two nodes with one label stay two nodes. Countermeasures (switchRole="yes") are
// not imported as structure: in threatcov, defences are the policies mapped onto steps, and an
// attack path is what the attacker needs, so a countermeasure becomes a note annotating the
// node it defends (its refinements are dropped; the note says how many). Attribute domains and
// parameters (costs, probabilities) are ignored.
//
// A node id is the tree id (from the file name), '-', and the label lower-cased with every run
// of characters other than [a-z0-9] replaced by '-' (at most 60 of them), made unique with -2,
// -3, ... in depth-first order, which is also the order of the tree's nodes.
//
// Errors are *attacktrees.Error values naming the file and line: not well-formed XML, a DTD or
// entity declaration (nothing is ever expanded), a node without a label, an unknown
// refinement or element, a root that is a countermeasure or has no attack children, a file
// larger than MaxSize. It never panics and never recurses: a tree 100,000 levels deep imports.
//
// It must not import the analyzer: it only builds trees. Cost: linear in the file.
package adtool
