// Package paths computes the minimal attack paths of a monotone AND/OR/AtLeast DAG: the
// minimal cut sets of a goal, in fault-tree terms. It counts them exactly without listing them,
// counts those that avoid a set of blocked leaves, and streams them shortest first with a cap.
//
// It owns the path engine only. It knows nothing of trees, policies or statuses: callers build
// a Model (node indices, ops, children) and pass leaf predicates. It must not enumerate to count.
//
// # Representation
//
// Each node's family of minimal cut sets is a zero-suppressed binary decision diagram (ZBDD,
// Minato 1993), as fault-tree engines such as SCRAM use: hash-consed nodes, so equal families are
// one id; a leaf is {{leaf}}; an OR gate is the subsumption-free union of its children; an AND
// gate is their minimal product, computed so that every intermediate family stays minimal
// (Rauzy's algorithm, instead of a product whose millions of non-minimal sets minimisation
// would only remove again), after taking out the sets of either operand that already hold a
// set of the other (they are minimal product sets as they are: gates over shared subtrees
// have many); an AtLeast k-of-n gate is built by the recurrence
// T(j, i) = T(j, i+1) ∪ c_i × T(j-1, i+1), minimally. Subsumption uses Rauzy's "without"
// operation (remove supersets); minimisation is memoised per node. Union, product and without
// are memoised in bounded, lossy caches; on Linux the large tables ask for transparent huge
// pages, as their probes are random. Families are built children first with an explicit
// stack and kept per model node: several roots (goals) share the work, and a chain of 100,000
// gates costs no stack. Between gates, when the store has grown well beyond what the last
// collection kept, the nodes no kept family reaches are collected, so memory follows the
// diagrams kept and the largest single gate, not the total work. The diagram operations
// recurse at most as deep as the number of leaves on one path of a diagram.
//
// Variables (leaves) are ordered by depth-first preorder from the parentless nodes, in index
// order and children left to right, a gate's own leaves before its gates' leaves (so that deep
// chains build in linear time); WithLeafOrder uses leaf index order instead.
//
// # Complexity
//
// Building a family costs time and memory polynomial in the sizes of the diagrams involved;
// the diagrams are usually far smaller than the number of sets they hold (an AND of 100 ORs of
// 2 leaves holds 2^100 sets in 200 nodes), but a ZBDD can be exponential in the worst case.
// With the diagram built:
//   - Count and CountAvoiding are linear in the diagram (integers grow to the log of the count);
//   - SizeHistogram is the diagram's size times the longest set's size;
//   - Enumerate costs, per set shown, the set's size times the diagram depth at worst (each
//     size probe is memoised), and memory proportional to the diagram, never to the number of
//     sets.
//
// # Output order
//
// Enumerate yields sets by increasing size; sets of one size in lexicographic order of their
// leaves' variable ranks (Rank); each set's leaves in ascending rank. When the model's leaves
// are numbered depth-first (as the importers and the analyzer number them) ranks follow leaf
// indices and the order is lexicographic by leaf index; WithLeafOrder makes it so always.
package paths
