// Package analyzer turns step verdicts into what a platform team needs to know: the status of
// every node of the catalog, the attack paths that remain open per goal, the coverage figures
// (docs/semantics.md, "Figures"), explanations and recommendations, and the comparison with a
// baseline.
//
// It reads the catalog, the mapping, the inventory and the evaluations; it never parses files
// and never renders output (reports does). Its subpackage paths counts and enumerates minimal
// attack paths without enumerating them all.
package analyzer
