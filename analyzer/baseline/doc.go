// Package baseline compares two analyses for the CI gate: it reads a baseline (a JSON report
// written by `threatcov analyze -o json` or `threatcov baseline write`), compares it with a new
// result path by path, explains each regression from the step results of both (which policy
// disappeared, switched from enforce to monitor, or lets a probe through), and applies the gate's
// thresholds and failure rules.
//
// A path is identified by its fingerprint, its sorted step ids, so one path that opens while
// another closes is seen as a regression even when the totals do not move. Results list at most
// --max-paths open paths per goal; where a goal's paths were cut, the comparison also uses the
// exact open-path counts and says which goals it could only compare in part.
//
// It owns the comparison and the gate's decision; it never renders them (reports does) and
// never runs an analysis. Reading is hardened against hostile files: a size limit, a limit on
// the length of numbers (a huge integer would take quadratic time to parse), and errors that
// name the file and line. Comparing is O(paths + steps) with map lookups.
package baseline
