package analyzer

import (
	"math/big"
	"slices"
	"sort"

	"github.com/threatcov/threatcov/frameworks"
)

// TechniqueCoverage is one framework technique and the coverage of the steps that instantiate
// it (docs/frameworks.md, "Scores").
type TechniqueCoverage struct {
	Framework string   `json:"framework"` // frameworks.ATTACK or frameworks.ThreatMatrix
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Tactics   []string `json:"tactics"` // tactic keys, in matrix order
	// Steps are the node ids whose mapping names the technique, sorted; Trees their trees.
	Steps []string `json:"steps"`
	Trees []string `json:"trees"`
	// Coverage is proven-closed steps / addressable steps (those not out of scope). A step is
	// proven closed when it is blocked with verified or live evidence, or attested; a blocked
	// (declared) step is not proven: threatcov could not execute its policy. Undefined when
	// every step is out of scope.
	Coverage   *Ratio         `json:"coverage"`
	StepCounts map[Status]int `json:"stepCounts"`
	// Blocking are the policies that block its proven-closed steps, sorted.
	Blocking []string `json:"blocking,omitempty"`
	// Open are its addressable steps that are not proven closed, sorted by id.
	Open []string `json:"open,omitempty"`
	// OpenPaths is the largest number of open paths (all goals) through one of its steps.
	OpenPaths *big.Int `json:"openPaths"`
}

// ProvenClosed reports whether a step's status proves it closed: blocked by a policy executed
// here or by the cluster (verified, live), or attested.
func ProvenClosed(s *StepResult) bool {
	switch s.Status {
	case StatusAttested:
		return true
	case StatusBlocked:
		return s.Evidence == EvidenceVerified || s.Evidence == EvidenceLive
	}
	return false
}

// StepTechniques are the ids of one framework a step instantiates.
func StepTechniques(s *StepResult, framework string) []string {
	if framework == frameworks.ThreatMatrix {
		return s.ThreatMatrix
	}
	return s.Attack
}

// Techniques is the coverage of every technique of the framework that at least one step of r
// instantiates, sorted by id. Techniques the framework does not know (a result read from an
// older file) keep their id with an empty name and no tactics.
func Techniques(r *Result, fw *frameworks.Framework) []TechniqueCoverage {
	byID := map[string]*TechniqueCoverage{}
	for i := range r.Steps {
		s := &r.Steps[i]
		for _, id := range StepTechniques(s, fw.ID) {
			tc := byID[id]
			if tc == nil {
				tc = &TechniqueCoverage{Framework: fw.ID, ID: id, StepCounts: map[Status]int{}, OpenPaths: new(big.Int)}
				if t, ok := fw.Technique(id); ok {
					tc.Name, tc.Tactics = t.Name, t.Tactics
				}
				byID[id] = tc
			}
			tc.add(s)
		}
	}
	out := make([]TechniqueCoverage, 0, len(byID))
	for _, tc := range byID {
		tc.finish()
		out = append(out, *tc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// covered and addressable are kept in the Ratio's fields while steps are added.
func (tc *TechniqueCoverage) add(s *StepResult) {
	if tc.Coverage == nil {
		tc.Coverage = &Ratio{Num: new(big.Int), Den: new(big.Int)}
	}
	tc.Steps = append(tc.Steps, s.Node)
	tc.Trees = append(tc.Trees, s.Tree)
	tc.StepCounts[s.Status]++
	if s.OpenPaths != nil && s.OpenPaths.Cmp(tc.OpenPaths) > 0 {
		tc.OpenPaths = new(big.Int).Set(s.OpenPaths)
	}
	if s.Status == StatusOutOfScope {
		return
	}
	tc.Coverage.Den.Add(tc.Coverage.Den, big.NewInt(1))
	if ProvenClosed(s) {
		tc.Coverage.Num.Add(tc.Coverage.Num, big.NewInt(1))
		tc.Blocking = append(tc.Blocking, s.Blocking...)
		return
	}
	tc.Open = append(tc.Open, s.Node)
}

func (tc *TechniqueCoverage) finish() {
	sort.Strings(tc.Steps)
	tc.Trees = compact(tc.Trees)
	tc.Blocking = compact(tc.Blocking)
	sort.Strings(tc.Open)
	tc.Coverage = ratio(tc.Coverage.Num, tc.Coverage.Den)
}

func compact(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
