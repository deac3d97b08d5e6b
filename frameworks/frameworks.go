package frameworks

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Framework ids, as the CLI and the JSON report name them.
const (
	ATTACK       = "attack"
	ThreatMatrix = "threat-matrix"
)

// IDs are the framework ids, in the order reports list them.
var IDs = []string{ATTACK, ThreatMatrix}

// Tactic is one column of a framework's matrix.
type Tactic struct {
	ID   string // ATT&CK: TA0004; Threat Matrix: its name (it publishes no tactic ids)
	Key  string // ATT&CK: the shortname ATT&CK Navigator layers use (privilege-escalation); Threat Matrix: the name
	Name string
}

// Technique is one technique (or ATT&CK sub-technique).
type Technique struct {
	ID      string
	Name    string
	Tactics []string // tactic keys, in the framework's order
	// Platforms are ATT&CK's platforms (Containers, Linux, IaaS, ...); nil for the Threat Matrix.
	Platforms []string
	// Attack are the ATT&CK ids a Threat Matrix technique names; nil for ATT&CK.
	Attack []string
	page   string // the Threat Matrix page's file name, which its URL is made of
}

// Parent is the technique a sub-technique belongs to (T1552 for T1552.007), or "".
func (t *Technique) Parent() string {
	if p, _, ok := strings.Cut(t.ID, "."); ok {
		return p
	}
	return ""
}

// Framework is one framework at one published version.
type Framework struct {
	ID      string // ATTACK or ThreatMatrix
	Name    string // "MITRE ATT&CK Enterprise"
	Version string // "18.1"
	// Source says where the technique list was extracted from (repository and commit).
	Source  string
	License string

	tactics    []Tactic
	techniques []*Technique
	byID       map[string]*Technique
}

// Tactics are the framework's tactics in matrix order.
func (f *Framework) Tactics() []Tactic { return f.tactics }

// Techniques are every technique, sorted by id.
func (f *Framework) Techniques() []*Technique { return f.techniques }

// Technique returns a technique by id.
func (f *Framework) Technique(id string) (*Technique, bool) {
	t, ok := f.byID[id]
	return t, ok
}

// Tactic returns a tactic by key.
func (f *Framework) Tactic(key string) (Tactic, bool) {
	i := slices.IndexFunc(f.tactics, func(t Tactic) bool { return t.Key == key })
	if i < 0 {
		return Tactic{}, false
	}
	return f.tactics[i], true
}

// URL is the public page of a technique: the source of a mapping to it (docs/frameworks.md).
func (f *Framework) URL(id string) string {
	if f.ID == ATTACK {
		return "https://attack.mitre.org/techniques/" + strings.ReplaceAll(id, ".", "/") + "/"
	}
	if t, ok := f.byID[id]; ok {
		return "https://microsoft.github.io/Threat-Matrix-for-Kubernetes/techniques/" + url.PathEscape(t.page) + "/"
	}
	return ""
}

// Check returns an error saying what to do when id is not a technique of the framework.
func (f *Framework) Check(id string) error {
	if _, ok := f.byID[id]; ok {
		return nil
	}
	return fmt.Errorf("%q is not a technique of %s v%s: see `threatcov frameworks list --all` and docs/frameworks.md", id, f.Name, f.Version)
}

//go:embed data/attack-enterprise.tsv
var attackTechniques []byte

//go:embed data/attack-tactics.tsv
var attackTactics []byte

//go:embed data/k8s-threat-matrix.tsv
var threatMatrixTechniques []byte

var (
	loadOnce sync.Once
	loaded   map[string]*Framework
)

// Get returns a framework by id (ATTACK or ThreatMatrix), or nil.
func Get(id string) *Framework {
	loadOnce.Do(func() {
		loaded = map[string]*Framework{ATTACK: loadATTACK(), ThreatMatrix: loadThreatMatrix()}
	})
	return loaded[id]
}

// All returns every framework, in IDs order.
func All() []*Framework {
	out := make([]*Framework, 0, len(IDs))
	for _, id := range IDs {
		out = append(out, Get(id))
	}
	return out
}

func loadATTACK() *Framework {
	f := &Framework{ID: ATTACK, Name: "MITRE ATT&CK Enterprise", Version: "18.1",
		Source:  "github.com/mitre/cti at 421deacb77191b38bdd1bf63268954e93da91365 (ATT&CK v18.1 Enterprise, STIX 2.0)",
		License: "© 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation. ATT&CK® terms of use: frameworks/data/ATTACK-LICENSE.txt",
	}
	for _, row := range rows(attackTactics, 3) {
		f.tactics = append(f.tactics, Tactic{ID: row[0], Key: row[1], Name: row[2]})
	}
	for _, row := range rows(attackTechniques, 4) {
		f.add(&Technique{ID: row[0], Name: row[1], Tactics: f.ordered(list(row[2])), Platforms: list(row[3])})
	}
	f.sort()
	return f
}

func loadThreatMatrix() *Framework {
	f := &Framework{ID: ThreatMatrix, Name: "Threat Matrix for Kubernetes", Version: "2023-01-23",
		Source:  "github.com/microsoft/Threat-Matrix-for-Kubernetes at b885d18bd4236286b59b735c5e18f2902823d2c2 (2023-01-23)",
		License: "Threat Matrix for Kubernetes © Microsoft, CC BY 4.0: frameworks/data/THREAT-MATRIX-LICENSE.txt",
	}
	// The matrix's columns, in the order of its published grid.
	for _, name := range []string{"Initial Access", "Execution", "Persistence", "Privilege Escalation", "Defense Evasion",
		"Credential Access", "Discovery", "Lateral Movement", "Collection", "Impact"} {
		f.tactics = append(f.tactics, Tactic{ID: name, Key: name, Name: name})
	}
	for _, row := range rows(threatMatrixTechniques, 5) {
		f.add(&Technique{ID: row[0], Name: row[1], Tactics: f.ordered(list(row[2])), Attack: list(row[3]), page: row[4]})
	}
	f.sort()
	return f
}

func (f *Framework) add(t *Technique) {
	if f.byID == nil {
		f.byID = map[string]*Technique{}
	}
	if _, dup := f.byID[t.ID]; dup {
		panic(fmt.Sprintf("frameworks: %s lists %s twice", f.ID, t.ID))
	}
	f.byID[t.ID] = t
	f.techniques = append(f.techniques, t)
}

func (f *Framework) sort() {
	slices.SortFunc(f.techniques, func(a, b *Technique) int { return strings.Compare(a.ID, b.ID) })
}

// ordered sorts tactic keys in matrix order; the embedded data is checked by the tests to name
// only known tactics, so a key not found is a bug in the data.
func (f *Framework) ordered(keys []string) []string {
	pos := func(k string) int {
		i := slices.IndexFunc(f.tactics, func(t Tactic) bool { return t.Key == k })
		if i < 0 {
			panic(fmt.Sprintf("frameworks: %s data names unknown tactic %q", f.ID, k))
		}
		return i
	}
	slices.SortFunc(keys, func(a, b string) int { return pos(a) - pos(b) })
	return keys
}

// rows reads the embedded tab-separated data: '#' lines are comments, every other line has n
// fields.
func rows(data []byte, n int) [][]string {
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		if len(fields) != n {
			panic(fmt.Sprintf("frameworks: embedded data line %d has %d fields, want %d", line, len(fields), n))
		}
		out = append(out, fields)
	}
	return out
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
