// Command setgen writes a generated policy set, probe set and mapping for bench/scale.sh's
// policy and probe series (issue 8): P konstraint-style Rego policies (deny rules over pod
// specs, twelve kinds of check with varied parameters), probe families totalling Q probe
// variants (twelve kinds of attack with varied fields), and a mapping file that spreads both
// over the leaves of the embedded CNCF catalog, so every policy and every probe is evaluated:
//
//	setgen -policies P -probes Q [-groups G] OUTDIR
//	threatcov analyze --policies OUTDIR/policies --probes OUTDIR/probes \
//	    --mapping OUTDIR/mapping.yaml --namespace apps
//
// The leaves are dealt round-robin into G groups (default 10), and so are the policies and
// the probe families; one mapping entry per group names its policies and families. Each
// group's policies run against each of its probes, so a run makes about P x Q / G evaluations
// per namespace: cost that grows linearly in policies x probes shows as a straight line when
// one of P, Q varies and the other is fixed. The policies are Rego files (the pipeline: each
// probe is judged as its manifest alone), so entries name the pipeline point.
//
// With -kind gatekeeper it writes Gatekeeper policies instead, for the admission path: P
// ConstraintTemplates (twelve kinds of check, each template its own Rego under targets[].rego,
// half of them carrying a library in targets[].libs, half gatekeeper-library style in Rego v0
// reading Pods only) with a parameters schema, and one Constraint per template (two for every
// third: the second warns and is limited by namespace), with parameters; every seventh first
// constraint is a dry run. Constraints of lib-style templates match Pods and workloads, the
// others Pods only (a workload is then judged as the Pod its controller would create). The
// mapping entries name them by gatekeeper:KIND (or gatekeeper:KIND/NAME for each of two) at
// the admission point, so every template is compiled and evaluated:
//
//	setgen -kind gatekeeper -policies T -probes Q OUTDIR
//	threatcov analyze --policies OUTDIR/policies --probes OUTDIR/probes \
//	    --mapping OUTDIR/mapping.yaml --namespace apps
//
// It prints the number of (policy, probe) evaluations the mapping asks for per namespace, and
// with -kind gatekeeper the number of constraints after it. The output depends only on the
// flags and the embedded catalog.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("setgen", flag.ContinueOnError)
	fl.SetOutput(stderr)
	kind := fl.String("kind", "rego", "policies to write: rego (pipeline Rego files) or gatekeeper (ConstraintTemplates and constraints)")
	nPol := fl.Int("policies", 10, "number of Rego policies, or of ConstraintTemplates with -kind gatekeeper")
	nProbes := fl.Int("probes", 10, "number of probe variants (over all families)")
	groups := fl.Int("groups", 10, "mapping entries: leaves, policies and families are dealt into this many groups")
	check := fl.Bool("check", true, "load the written policies and probes and check their counts")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 1 || *nPol < 1 || *nProbes < 1 || *groups < 1 || *kind != "rego" && *kind != "gatekeeper" {
		fmt.Fprintln(stderr, "usage: setgen [-kind rego|gatekeeper] [-policies P] [-probes Q] [-groups G] OUTDIR")
		return 2
	}
	gen := generate
	if *kind == "gatekeeper" {
		gen = generateGatekeeper
	}
	if err := gen(stdout, fl.Arg(0), *nPol, *nProbes, *groups, *check); err != nil {
		fmt.Fprintln(stderr, "setgen:", err)
		return 1
	}
	return 0
}

func generate(stdout io.Writer, out string, nPol, nProbes, groups int, check bool) error {
	set, err := newSet(out, []string{"policies/setgen_lib", "probes"}, nPol, nProbes, groups)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "policies/setgen_lib/lib.rego"), []byte(regoLib), 0o644); err != nil {
		return err
	}
	units := make([]unit, nPol)
	for i := range nPol {
		pkg, src := policy(i)
		units[i] = unit{refs: []string{"rego:" + pkg}, evals: 1}
		dir := filepath.Join(out, "policies", pkg)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "src.rego"), []byte(src), 0o644); err != nil {
			return err
		}
	}
	header := fmt.Sprintf("%d policies, %d probe variants in %d families, %d groups of leaves", nPol, nProbes, len(set.fams), set.groups)
	evals, err := set.write(string(probes.PointPipeline), header, units)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d\n", evals)
	if !check {
		return nil
	}
	inv, err := set.load()
	if err != nil {
		return err
	}
	if len(inv.Policies) != nPol {
		return fmt.Errorf("wrote %d policies, want %d", len(inv.Policies), nPol)
	}
	return nil
}

// set is what both kinds of generated set share: the output folder, the catalog leaves and
// the probe families, dealt round-robin into groups (item i goes to group i mod groups), one
// mapping entry per group.
type set struct {
	out     string
	leaves  []string
	fams    []family
	groups  int
	nProbes int
}

// unit is one policy file's mapping references and the evaluations it makes per probe variant.
type unit struct {
	refs  []string
	evals int
}

// newSet empties out, creates dirs under it, and deals the catalog's leaves and nProbes probe
// variants into at most groups groups (every group needs a leaf, a policy and a family).
func newSet(out string, dirs []string, nPol, nProbes, groups int) (*set, error) {
	leaves, err := catalogLeaves()
	if err != nil {
		return nil, err
	}
	g := min(groups, len(leaves), nPol, nProbes)
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			return nil, err
		}
	}
	return &set{out: out, leaves: leaves, fams: families(nProbes, g), groups: g, nProbes: nProbes}, nil
}

// write writes the probe families and the mapping that deals leaves, families and units into
// the groups at point, and returns the evaluations the mapping asks for per namespace.
func (s *set) write(point, header string, units []unit) (int, error) {
	for _, f := range s.fams {
		if err := os.WriteFile(filepath.Join(s.out, "probes", f.name+".yaml"), []byte(f.yaml()), 0o644); err != nil {
			return 0, err
		}
	}
	evals := 0
	var m strings.Builder
	fmt.Fprintf(&m, "# Generated by bench/cmd/setgen: %s.\n", header)
	m.WriteString("version: 1\nsteps:\n")
	for grp := range s.groups {
		np, nq := 0, 0
		m.WriteString("  - nodes:\n")
		for i := grp; i < len(s.leaves); i += s.groups {
			fmt.Fprintf(&m, "      - %s\n", s.leaves[i])
		}
		fmt.Fprintf(&m, "    points: [%s]\n    probes:\n", point)
		for i := grp; i < len(s.fams); i += s.groups {
			fmt.Fprintf(&m, "      - %s\n", s.fams[i].name)
			nq += len(s.fams[i].variants)
		}
		m.WriteString("    policies:\n")
		for i := grp; i < len(units); i += s.groups {
			for _, r := range units[i].refs {
				fmt.Fprintf(&m, "      - %s\n", r)
			}
			np += units[i].evals
		}
		fmt.Fprintf(&m, "    note: Generated group %d of %d.\n", grp+1, s.groups)
		evals += np * nq
	}
	return evals, os.WriteFile(filepath.Join(s.out, "mapping.yaml"), []byte(m.String()), 0o644)
}

// load reads back the written probe families, checks their number of variants, and loads the
// written policies.
func (s *set) load() (*policies.Inventory, error) {
	ps, err := probes.Load(filepath.Join(s.out, "probes"))
	if err != nil {
		return nil, err
	}
	if len(ps) != s.nProbes {
		return nil, fmt.Errorf("wrote %d probe variants, want %d", len(ps), s.nProbes)
	}
	return policies.Load(filepath.Join(s.out, "policies"))
}

// catalogLeaves returns the ids of the embedded catalog's mappable leaves, in catalog order.
func catalogLeaves() ([]string, error) {
	cat, err := attacktrees.Default()
	if err != nil {
		return nil, err
	}
	var leaves []string
	for _, n := range cat.Nodes() {
		if cat.IsLeaf(n) && n.Kind != attacktrees.KindSubtree && n.Kind != attacktrees.KindNote {
			leaves = append(leaves, n.ID)
		}
	}
	return leaves, nil
}
