package baseline

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
)

// Rule is a --fail-on rule of the gate.
type Rule string

const (
	// FailNewOpenPaths fails when a path is open that the baseline did not have open (per path:
	// one opening while another closes still fails), or a goal's exact open count grew.
	FailNewOpenPaths Rule = "new-open-paths"
	// FailNewOpenGoals fails when a goal blocked in (or absent from) the baseline is open.
	FailNewOpenGoals Rule = "new-open-goals"
	// FailAnyOpenGoal fails when any goal is open; it needs no baseline.
	FailAnyOpenGoal Rule = "any-open-goal"
)

// Rules lists the rules in the order the CLI documents them.
var Rules = []Rule{FailNewOpenPaths, FailNewOpenGoals, FailAnyOpenGoal}

// ParseRule reads a --fail-on value.
func ParseRule(s string) (Rule, error) {
	for _, r := range Rules {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, len(Rules))
	for i, r := range Rules {
		names[i] = string(r)
	}
	return "", fmt.Errorf("unknown --fail-on %q: use %s", s, strings.Join(names, ", "))
}

// ParsePercent reads a threshold such as "80" or "66.67" exactly (no binary rounding), in [0, 100].
func ParsePercent(s string) (*big.Rat, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	bad := fmt.Errorf("threshold %q: give a percentage between 0 and 100, e.g. 80 or 66.5", s)
	// Plain decimals only: big.Rat would also take "1e100000000" and spend its time on it.
	if !percentRE.MatchString(s) {
		return nil, bad
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Cmp(big.NewRat(100, 1)) > 0 {
		return nil, bad
	}
	return r, nil
}

var percentRE = regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]{1,8})?$`)

// Gate is what `threatcov check` enforces.
type Gate struct {
	MinPathCoverage *big.Rat // percent; nil: no threshold
	MinGoalCoverage *big.Rat // percent; nil: no threshold
	FailOn          []Rule
	// Rewrite is the command that writes the baseline again with the same analysis flags, for
	// the note that asks for it; "" gives a generic one.
	Rewrite string
}

// Failure is one reason the gate failed.
type Failure struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Outcome is the gate's decision with everything behind it.
type Outcome struct {
	Passed   bool      `json:"passed"`
	Failures []Failure `json:"failures"`
	// Notes are facts a reader needs that do not fail the gate (an undefined figure, goals
	// compared only in part).
	Notes []string `json:"notes"`
	// Diff is the comparison with the baseline; nil without one.
	Diff    *Diff            `json:"diff,omitempty"`
	Figures analyzer.Figures `json:"figures"`
}

// ErrNeedsBaseline is returned for rules that compare with a baseline when none is given.
var ErrNeedsBaseline = errors.New("this --fail-on rule compares with a baseline: give --baseline FILE")

// DefaultRules are the rules applied when none is given: with a baseline, no path may open;
// without one and without thresholds, no goal may be open.
func DefaultRules(haveBaseline, haveThresholds bool) []Rule {
	switch {
	case haveBaseline:
		return []Rule{FailNewOpenPaths}
	case haveThresholds:
		return nil
	}
	return []Rule{FailAnyOpenGoal}
}

// Check applies the gate to the current result, comparing with the baseline when one is given
// (base may be nil). It returns an error only for a gate that cannot be evaluated.
func Check(base, cur *analyzer.Result, g Gate) (*Outcome, error) {
	if cur == nil {
		return nil, errors.New("check: no analysis result")
	}
	o := &Outcome{Failures: []Failure{}, Notes: []string{}, Figures: cur.Summary}
	if base != nil {
		o.Diff = Compare(base, cur)
	}
	o.threshold("path", "paths", &cur.Summary.Paths.Coverage, g.MinPathCoverage)
	o.threshold("goal", "goals", cur.Summary.Goals, g.MinGoalCoverage)
	for _, rule := range g.FailOn {
		if err := o.apply(rule, cur); err != nil {
			return nil, err
		}
	}
	if o.Diff != nil && len(o.Diff.Partial) > 0 {
		o.Notes = append(o.Notes, fmt.Sprintf("%d goal(s) have more open paths than listed (--max-paths): their paths were compared by the exact counts and the listed paths: %s",
			len(o.Diff.Partial), strings.Join(o.Diff.Partial, ", ")))
	}
	if o.Diff != nil && len(o.Diff.ClosedPaths) > 0 {
		// Otherwise a later change could reopen them without the gate noticing.
		rewrite := g.Rewrite
		if rewrite == "" {
			rewrite = "threatcov baseline write FILE with the same flags"
		}
		o.Notes = append(o.Notes, fmt.Sprintf("%d path(s) closed since the baseline: rewrite it (%s) and commit it, so that reopening them fails the gate", len(o.Diff.ClosedPaths), rewrite))
	}
	o.Passed = len(o.Failures) == 0
	return o, nil
}

// threshold fails the gate when a coverage figure is below min (exactly, in rationals), and
// notes when the figure is undefined.
func (o *Outcome) threshold(name, what string, r *analyzer.Ratio, min *big.Rat) {
	if min == nil {
		return
	}
	if !r.Defined() {
		o.Notes = append(o.Notes, fmt.Sprintf("%s coverage is n/a (no %s): the --min-%s-coverage threshold does not apply", name, what, name))
		return
	}
	num := r.Num
	if num == nil {
		num = new(big.Int)
	}
	// covered/total*100 >= min, exactly: covered*100*minDen >= minNum*total.
	lhs := new(big.Int).Mul(num, big.NewInt(100))
	lhs.Mul(lhs, min.Denom())
	rhs := new(big.Int).Mul(min.Num(), r.Den)
	if lhs.Cmp(rhs) < 0 {
		pct := new(big.Rat).SetFrac(new(big.Int).Mul(num, big.NewInt(100)), r.Den)
		o.Failures = append(o.Failures, Failure{Rule: "min-" + name + "-coverage",
			Message: fmt.Sprintf("%s coverage %s/%s (%s%%) is below the threshold of %s%%", name, num, r.Den, pct.FloatString(2), trimRat(min))})
	}
}

// apply adds the failures one gate rule finds.
func (o *Outcome) apply(rule Rule, cur *analyzer.Result) error {
	switch rule {
	case FailNewOpenPaths:
		if o.Diff == nil {
			return fmt.Errorf("--fail-on %s: %w", rule, ErrNeedsBaseline)
		}
		for _, p := range o.Diff.OpenedPaths {
			var why []string
			for _, c := range p.Why {
				if c.Kind != CauseStatusChanged || len(p.Why) == 1 {
					why = append(why, c.Text)
				}
			}
			o.Failures = append(o.Failures, Failure{Rule: string(rule),
				Message: fmt.Sprintf("path opened to %q: %s (because %s)", p.GoalLabel, strings.Join(p.Labels, " + "), strings.Join(why, "; "))})
		}
		for _, c := range o.Diff.Grown {
			o.Failures = append(o.Failures, Failure{Rule: string(rule),
				Message: fmt.Sprintf("open paths to %q grew from %s to %s (not all are listed: raise --max-paths to see which)", c.Label, c.Before, c.After)})
		}
	case FailNewOpenGoals:
		if o.Diff == nil {
			return fmt.Errorf("--fail-on %s: %w", rule, ErrNeedsBaseline)
		}
		for _, gc := range o.Diff.OpenedGoals {
			was := "absent from the baseline"
			if gc.Before != "" {
				was = "was " + string(gc.Before)
			}
			o.Failures = append(o.Failures, Failure{Rule: string(rule), Message: fmt.Sprintf("goal %q (%s) is open; it %s", gc.Label, gc.ID, was)})
		}
	case FailAnyOpenGoal:
		for _, t := range cur.Trees {
			for _, gr := range t.Goals {
				if !gr.Status.Closes() {
					o.Failures = append(o.Failures, Failure{Rule: string(rule),
						Message: fmt.Sprintf("goal %q (%s) is open: %s open paths", gr.Label, gr.ID, countText(gr.Figures.Paths.Open))})
				}
			}
		}
	default:
		return fmt.Errorf("unknown gate rule %q", rule)
	}
	return nil
}

func countText(n *big.Int) string {
	if n == nil {
		return "0"
	}
	return n.String()
}

func trimRat(r *big.Rat) string {
	s := r.FloatString(4)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
