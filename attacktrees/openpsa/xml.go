package openpsa

import (
	"strings"

	"github.com/threatcov/threatcov/internal/xmltree"
)

// MaxSize is the largest file Import reads (bytes); larger input is refused, not truncated.
const MaxSize = 64 << 20

// MaxDepth is the deepest element nesting Import accepts. Fault trees nest through gate
// references, which have no depth limit; only literal XML nesting is bounded.
const MaxDepth = 512

// elem is an element of the imported document.
type elem = xmltree.Elem

// limits bound what Import reads.
var limits = xmltree.Limits{MaxSize: MaxSize, MaxDepth: MaxDepth, Root: "<opsa-mef>",
	SizeHint: "split the model or raise openpsa.MaxSize", DepthHint: "name the inner formulas as gates"}

// fileErr builds an import error naming the file, line and node.
var fileErr = xmltree.Errorf

// collapse joins the words of a label with single spaces, as the tree schema writes labels.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
