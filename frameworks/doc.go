// Package frameworks holds the threat frameworks reviewers map controls to: MITRE ATT&CK
// Enterprise (v18.1, whose Containers platform is the ATT&CK Containers matrix) and Microsoft's
// Threat Matrix for Kubernetes. It owns their technique lists, embedded from data/ with the
// licence and source of each (docs/frameworks.md), and answers which ids are real techniques
// and which tactics they belong to.
//
// It must not import anything of threatcov: the mapping checks its ids against it, and the
// analyzer and reports read names and tactics from it. Lookups are map reads; Techniques and
// Tactics return the order of the published matrix (tactics) and of the ids (techniques).
package frameworks
