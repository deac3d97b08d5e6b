// Package scramtest runs SCRAM (Debian package scram), the independent fault-tree engine the
// minimal attack path counts are checked against, for the tests of the path engine and of the
// Open-PSA export. SCRAM is never skipped silently: a missing binary skips with the remedy, and
// fails the test when CI is set.
package scramtest

import (
	"encoding/xml"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/internal/testenv"
)

// Need returns the path of the scram binary, or skips the test with the remedy (fails under CI).
func Need(t *testing.T) string {
	t.Helper()
	return testenv.LookPath(t, "install the Debian package scram (apt-get install -y scram, or scripts/test-deps.sh) to compare minimal cut set counts with SCRAM", "scram")
}

// report is the part of SCRAM's report the comparison reads.
type report struct {
	Results []struct {
		Name     string `xml:"name,attr"`
		Products string `xml:"products,attr"`
	} `xml:"results>sum-of-products"`
}

// Counts runs `scram --zbdd` on the files with no product-order limit and returns the number
// of minimal cut sets of each top gate, by gate name.
func Counts(t *testing.T, bin string, files ...string) map[string]*big.Int {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.xml")
	args := append([]string{"--zbdd", "--limit-order", "1000000", "-o", out}, files...)
	if msg, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("scram %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := xml.Unmarshal(data, &rep); err != nil {
		t.Fatalf("read SCRAM report: %v", err)
	}
	counts := map[string]*big.Int{}
	for _, r := range rep.Results {
		n, ok := new(big.Int).SetString(r.Products, 10)
		if !ok {
			t.Fatalf("SCRAM report: products=%q of %s is not a number", r.Products, r.Name)
		}
		counts[r.Name] = n
	}
	return counts
}
