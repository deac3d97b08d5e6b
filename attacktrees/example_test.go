package attacktrees_test

import (
	"fmt"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
)

// A subtree box with children of its own is AND(target, OR(children)); a reference to a tree
// is the OR of its top-level goals; the two trees refer to each other, and a path never runs
// back through a box it came through: in abuse-pods, to-container's target reaches to-net, whose
// target (net's goals) drops abuse-pods (back through to-container) and keeps extract.
func ExampleCatalog_Expansion() {
	var trees []*attacktrees.Tree
	for _, src := range []string{
		"id: net\ntitle: Network\nnodes:\n" +
			"  - {id: abuse-pods, kind: goal, gate: plain, label: Abuse pods, children: [to-container]}\n" +
			"  - {id: to-container, kind: subtree, label: 'ATTACK TREE: Container', target: container, children: [via-network]}\n" +
			"  - {id: via-network, kind: step, label: Attack via network}\n" +
			"  - {id: extract, kind: goal, gate: plain, label: Extract secrets, children: [mount-host]}\n" +
			"  - {id: mount-host, kind: step, label: Mount host filesystem}\n",
		"id: container\ntitle: Container\nnodes:\n" +
			"  - {id: to-net, kind: subtree, label: 'ATTACK TREE: Network', target: net, children: [rce]}\n" +
			"  - {id: rce, kind: step, label: Remote code execution}\n" +
			"  - {id: eavesdrop, kind: goal, gate: plain, label: Eavesdrop, children: [rce]}\n",
	} {
		t, err := attacktrees.Parse([]byte(src), "example.yaml")
		if err != nil {
			fmt.Println(err)
			return
		}
		trees = append(trees, t)
	}
	c, err := attacktrees.Build(trees)
	if err != nil {
		fmt.Println(err)
		return
	}
	exp := c.Expansion()
	var formula func(i int) string
	formula = func(i int) string {
		e := exp[i]
		if e.Gate == "" {
			return e.Node.ID
		}
		var args []string
		for _, ch := range e.Children {
			args = append(args, formula(ch))
		}
		if len(args) == 1 {
			return args[0]
		}
		return string(e.Gate) + "(" + strings.Join(args, ", ") + ")"
	}
	for _, t := range c.Trees() {
		for _, g := range c.Goals(t.ID) {
			fmt.Printf("%s = %s\n", g.ID, formula(int(g.GraphID())))
		}
	}
	// Output:
	// abuse-pods = and(or(and(mount-host, rce), rce), via-network)
	// extract = mount-host
	// to-net = and(or(and(rce, via-network), mount-host), rce)
	// eavesdrop = rce
}
