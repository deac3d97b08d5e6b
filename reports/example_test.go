package reports_test

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/reports"
)

// A result normally comes from analyzer.Analyze; here it is written out for a one-step tree
// whose only step no policy blocks.
func Example() {
	tree, err := attacktrees.Parse([]byte(`
id: demo
title: Demo
nodes:
  - id: demo-goal
    kind: goal
    gate: or
    label: Run code on the node
    children: [demo-hostpid]
  - id: demo-hostpid
    kind: step
    label: Start a pod in the host PID namespace
`), "demo.yaml")
	if err != nil {
		panic(err)
	}
	catalog, err := attacktrees.Build([]*attacktrees.Tree{tree})
	if err != nil {
		panic(err)
	}
	zero, one := big.NewInt(0), big.NewInt(1)
	none := 0.0
	figures := analyzer.Figures{Paths: analyzer.PathFigures{Coverage: analyzer.Ratio{Num: zero, Den: one, Percent: &none}, Open: one}}
	result := &analyzer.Result{
		SchemaVersion: analyzer.SchemaVersion,
		Summary:       figures,
		Trees: []analyzer.TreeResult{{ID: "demo", Title: "Demo", Figures: figures, Goals: []analyzer.GoalResult{{
			ID: "demo-goal", Tree: "demo", Label: "Run code on the node", Status: analyzer.StatusOpen, Figures: figures,
			OpenPaths: []analyzer.Path{{Fingerprint: "demo-hostpid", Steps: []string{"demo-hostpid"}}}, NotShown: zero,
		}}}},
		Steps: []analyzer.StepResult{{Node: "demo-hostpid", Tree: "demo", Label: "Start a pod in the host PID namespace", Leaf: true, Status: analyzer.StatusOpen}},
		Nodes: []analyzer.NodeResult{
			{ID: "demo-goal", Tree: "demo", Status: analyzer.StatusOpen, OpenPaths: one},
			{ID: "demo-hostpid", Tree: "demo", Status: analyzer.StatusOpen, OpenPaths: one},
		},
	}

	// Any format of reports.Formats; the same result gives byte-identical output.
	if err := reports.Render(os.Stdout, "markdown", result, catalog); err != nil {
		panic(err)
	}

	// The tree drawn as SVG: node ids are element ids, statuses are in the <title> tooltips.
	svg, err := reports.TreeSVG(context.Background(), catalog, result, "demo")
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Contains(string(svg), `<g id="demo&#45;hostpid" class="node">`))
	// Output:
	// # Attack-path coverage report
	//
	// ## Summary
	//
	// | Figure | Value |
	// |---|---|
	// | Path coverage (blocked / all paths) | 0/1 (0.00%) |
	// | Open paths | 1 |
	// | Goal coverage (blocked / goals) | n/a (no goals) |
	// | Step coverage (blocked / addressable steps) | n/a (no addressable steps) |
	//
	// Inputs: trees -; policies none; mapping -.
	//
	// ## Coverage per tree
	//
	// | Tree | Goal | Status | Path coverage | Open paths |
	// |---|---|---|---|---|
	// | **Demo** | | | 0/1 (0.00%) | 1 |
	// | | Run code on the node (`demo-goal`) | ❌ open | 0/1 (0.00%) | 1 |
	//
	// ## Open attack paths policies can close
	//
	// Shortest first: each is a set of attack steps that together reach the goal with no enforcing policy in the way, and at least one step a policy addresses.
	//
	// | Steps | Goal | Path |
	// |---|---|---|
	// | 1 | Run code on the node | Start a pod in the host PID namespace |
	//
	// ## Residual risk: open paths beyond admission policies
	//
	// None.
	//
	// ## Recommendations
	//
	// None.
	//
	// ## Steps without a mapped policy
	//
	// | Step | Tree | Status | Open paths through it | Why |
	// |---|---|---|---|---|
	// | Start a pod in the host PID namespace (`demo-hostpid`) | demo | open | 0 | - |
	//
	// ## Out-of-scope steps
	//
	// None.
	// true
}
