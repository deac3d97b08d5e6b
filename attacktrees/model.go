package attacktrees

// Kind is what a node is in the drawing: a goal, a gate, an attack step, a reference to another
// tree, or an annotation.
type Kind string

const (
	KindGoal    Kind = "goal"
	KindAnd     Kind = "and"
	KindOr      Kind = "or"
	KindAtLeast Kind = "atleast"
	KindStep    Kind = "step"
	KindSubtree Kind = "subtree"
	KindNote    Kind = "note"
)

// Gate is how a goal combines its children.
type Gate string

const (
	GateAnd     Gate = "and"
	GateOr      Gate = "or"
	GateAtLeast Gate = "atleast"
	// GatePlain is a plain goal box: an OR of its children, as in the attack-tree convention.
	GatePlain Gate = "plain"
)

// Tree is one attack tree as written in one YAML file.
type Tree struct {
	ID     string  `yaml:"id" json:"id"`
	Title  string  `yaml:"title" json:"title"`
	Source string  `yaml:"source,omitempty" json:"source,omitempty"`
	Nodes  []*Node `yaml:"nodes" json:"nodes"`

	// File is where the tree was read from ("" for trees built in memory).
	File string `yaml:"-" json:"-"`
	// Line is the line of the tree's id in File.
	Line int `yaml:"-" json:"-"`
}

// Node is one box of a tree.
type Node struct {
	ID        string   `yaml:"id" json:"id"`
	Kind      Kind     `yaml:"kind" json:"kind"`
	Gate      Gate     `yaml:"gate,omitempty" json:"gate,omitempty"`
	K         int      `yaml:"k,omitempty" json:"k,omitempty"`
	Label     string   `yaml:"label" json:"label"`
	Ref       string   `yaml:"ref,omitempty" json:"ref,omitempty"`
	Children  []string `yaml:"children,omitempty" json:"children,omitempty"`
	Target    string   `yaml:"target,omitempty" json:"target,omitempty"`
	Annotates []string `yaml:"annotates,omitempty" json:"annotates,omitempty"`
	TBC       bool     `yaml:"tbc,omitempty" json:"tbc,omitempty"`
	Page      int      `yaml:"page,omitempty" json:"page,omitempty"`
	Ambiguity string   `yaml:"ambiguity,omitempty" json:"ambiguity,omitempty"`

	// Tree is the id of the tree the node belongs to.
	Tree string `yaml:"-" json:"tree"`
	// Line is the line of the node's entry in its file.
	Line int `yaml:"-" json:"-"`

	index int64 // graph id, set by Build
}
