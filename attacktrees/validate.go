package attacktrees

import (
	"regexp"
	"strings"
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// checkTree checks what can be checked within one file: ids, kinds and their fields, children
// that exist, and that every node is reachable from a goal. It appends to errs and never stops
// early, so a file's problems are reported together.
func checkTree(t *Tree, errs *errorList) {
	f := t.File
	switch {
	case t.ID == "":
		errs.add(f, t.Line, "", "tree has no id: add `id: my-tree` (lower-case words joined by '-')")
	case !idPattern.MatchString(t.ID):
		errs.add(f, t.Line, "", "tree id %q is not valid: use lower-case letters, digits and '-'", t.ID)
	}
	if strings.TrimSpace(t.Title) == "" {
		errs.add(f, t.Line, "", "tree has no title: add `title: ...`")
	}
	if len(t.Nodes) == 0 {
		errs.add(f, t.Line, "", "tree has no nodes: add a `nodes:` list with at least one goal")
		return
	}

	byID := make(map[string]*Node, len(t.Nodes))
	for i, n := range t.Nodes {
		if n == nil {
			errs.add(f, t.Line, "", "nodes[%d] is empty: each node needs id, kind and label", i)
			continue
		}
		n.Tree = t.ID
		checkNode(f, n, errs)
		if n.ID == "" {
			continue
		}
		if prev, ok := byID[n.ID]; ok {
			errs.add(f, n.Line, n.ID, "duplicate node id (first defined at line %d): give each node its own id", prev.Line)
			continue
		}
		byID[n.ID] = n
	}

	for _, n := range t.Nodes {
		if n == nil {
			continue
		}
		seen := make(map[string]bool, len(n.Children))
		for _, c := range n.Children {
			child, ok := byID[c]
			switch {
			case !ok:
				errs.add(f, n.Line, n.ID, "child %q is not defined in this file: define it, fix the id, or use a `kind: subtree` node with `target: %s` to refer to another tree", c, c)
			case seen[c]:
				errs.add(f, n.Line, n.ID, "child %q is listed twice: list each child once", c)
			case child.Kind == KindNote:
				errs.add(f, n.Line, n.ID, "child %q is a note: attach notes with `annotates` on the note instead", c)
			}
			seen[c] = true
		}
		for _, a := range n.Annotates {
			if _, ok := byID[a]; !ok {
				errs.add(f, n.Line, n.ID, "annotates %q, which is not defined in this file: fix the id", a)
			}
		}
	}
	checkReachable(t, byID, errs)
}

// checkNode reports what is wrong with one node on its own: id, label and kind, then, for a
// known kind, the fields of gates (gate, children, k) and of subtree boxes and notes.
func checkNode(f string, n *Node, errs *errorList) {
	switch {
	case n.ID == "":
		errs.add(f, n.Line, "", "node has no id: add `id: ...` (lower-case letters, digits and '-')")
	case !idPattern.MatchString(n.ID):
		errs.add(f, n.Line, n.ID, "id is not valid: use lower-case letters, digits and '-'")
	}
	if strings.TrimSpace(n.Label) == "" {
		errs.add(f, n.Line, n.ID, "node has no label: add the text of the box as `label: ...`")
	}
	switch n.Kind {
	case KindGoal, KindAnd, KindOr, KindAtLeast, KindStep, KindSubtree, KindNote:
	case "":
		errs.add(f, n.Line, n.ID, "node has no kind: set `kind:` to goal, and, or, atleast, step, subtree or note")
		return
	default:
		errs.add(f, n.Line, n.ID, "unknown kind %q: use goal, and, or, atleast, step, subtree or note", n.Kind)
		return
	}
	checkGate(f, n, errs)
	checkKindFields(f, n, errs)
}

// checkGate checks the gate fields: a goal's gate, a gate's children, an atleast gate's k.
func checkGate(f string, n *Node, errs *errorList) {
	if n.Kind == KindGoal {
		switch n.Gate {
		case GateAnd, GateOr, GateAtLeast, GatePlain:
		case "":
			errs.add(f, n.Line, n.ID, "goal has no gate: set `gate:` to and, or, atleast or plain")
		default:
			errs.add(f, n.Line, n.ID, "unknown gate %q: use and, or, atleast or plain", n.Gate)
		}
	} else if n.Gate != "" {
		errs.add(f, n.Line, n.ID, "`gate` is only for goals; a %s node's kind is its gate: remove `gate`", n.Kind)
	}

	isGate := n.Kind == KindAnd || n.Kind == KindOr || n.Kind == KindAtLeast || n.Kind == KindGoal
	if isGate && len(n.Children) == 0 {
		errs.add(f, n.Line, n.ID, "%s has no children: a gate needs children; if this box is an attack step, make it `kind: step`", describeGate(n))
	}
	atLeast := n.Kind == KindAtLeast || (n.Kind == KindGoal && n.Gate == GateAtLeast)
	switch {
	case atLeast && (n.K < 1 || (len(n.Children) > 0 && n.K > len(n.Children))):
		errs.add(f, n.Line, n.ID, "atleast gate needs 1 <= k <= %d (its number of children), got k: %d", len(n.Children), n.K)
	case !atLeast && n.K != 0:
		errs.add(f, n.Line, n.ID, "`k` is only for atleast gates: remove it or make the node `kind: atleast`")
	}
}

// checkKindFields checks target, which only subtree boxes have and need, and annotates, which
// only notes have and need.
func checkKindFields(f string, n *Node, errs *errorList) {
	switch n.Kind {
	case KindSubtree:
		if n.Target == "" {
			errs.add(f, n.Line, n.ID, "subtree has no target: set `target:` to the tree id or node id it stands for")
		}
	case KindNote:
		if len(n.Annotates) == 0 {
			errs.add(f, n.Line, n.ID, "note annotates nothing: set `annotates:` to the ids it is attached to")
		}
		if len(n.Children) > 0 {
			errs.add(f, n.Line, n.ID, "note has children: notes annotate nodes; use `annotates` instead of `children`")
		}
	}
	if n.Kind != KindSubtree && n.Target != "" {
		errs.add(f, n.Line, n.ID, "`target` is only for subtree nodes: remove it or make the node `kind: subtree`")
	}
	if n.Kind != KindNote && len(n.Annotates) > 0 {
		errs.add(f, n.Line, n.ID, "`annotates` is only for note nodes: remove it or make the node `kind: note`")
	}
}

func describeGate(n *Node) string {
	if n.Kind == KindGoal {
		return "goal"
	}
	return string(n.Kind) + " gate"
}

// checkReachable reports nodes that no goal of the tree reaches: a box with no connector is
// almost always a transcription slip, so it is an error rather than a silent extra leaf. The
// walk starts at the goal nodes and at subtree boxes no node of the file lists as a child (a
// parentless box is a goal, docs/semantics.md "Subtree boxes"), and follows children and
// subtree targets that name a node of this file.
func checkReachable(t *Tree, byID map[string]*Node, errs *errorList) {
	reached := make(map[string]bool, len(byID))
	isChild := make(map[string]bool, len(byID))
	for _, n := range t.Nodes {
		if n != nil {
			for _, c := range n.Children {
				isChild[c] = true
			}
		}
	}
	var stack []string
	goals := 0
	for _, n := range t.Nodes {
		if n == nil || n.ID == "" {
			continue
		}
		if n.Kind == KindGoal || (n.Kind == KindSubtree && !isChild[n.ID]) {
			goals++
			stack = append(stack, n.ID)
		}
	}
	if goals == 0 {
		errs.add(t.File, t.Line, "", "tree has no goal: make its root `kind: goal` with a gate")
		return
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if reached[id] {
			continue
		}
		reached[id] = true
		if n := byID[id]; n != nil {
			stack = append(stack, n.Children...)
			if n.Kind == KindSubtree && byID[n.Target] != nil {
				stack = append(stack, n.Target)
			}
		}
	}
	for _, n := range t.Nodes {
		if n == nil || n.ID == "" || n.Kind == KindNote || reached[n.ID] || byID[n.ID] != n {
			continue
		}
		errs.add(t.File, n.Line, n.ID, "unreachable: no goal of tree %q reaches this node; list it as a child of its parent or make it a goal", t.ID)
	}
}
