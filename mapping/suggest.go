package mapping

import (
	"fmt"
	"io"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/threatcov/threatcov/probes"
)

// Discovered is what execution found for one step that its mapping did not expect: deployed
// policies that deny every probe of the step (admitting the benign twins) but that the
// mapping does not name.
type Discovered struct {
	Step     *Step
	Policies []string // policy ids
}

// Suggest writes a mapping file (version 1) with one entry per step that has discovered
// policies: the step's own entry with the discovered policy ids added, for a reviewer to keep
// or drop. Applied over the default mapping it makes those policies the expected ones, so
// reports stop listing them as "blocking but not mapped". Entries are sorted by node id.
func Suggest(w io.Writer, found []Discovered) error {
	sort.Slice(found, func(i, j int) bool { return found[i].Step.Node.ID < found[j].Step.Node.ID })
	root := &yaml.Node{Kind: yaml.MappingNode}
	root.HeadComment = "Written by 'threatcov mapping suggest': policies that execution showed blocking steps\n" +
		"their mapping did not name. Review each entry, then pass this file with --mapping."
	steps := &yaml.Node{Kind: yaml.SequenceNode}
	root.Content = append(root.Content, scalar("version"), scalar("1"), scalar("steps"), steps)
	for _, d := range found {
		s := d.Step
		entry := &yaml.Node{Kind: yaml.MappingNode}
		entry.HeadComment = fmt.Sprintf("%s (%s): discovered %v", s.Node.Label, s.Node.Tree, d.Policies)
		points := make([]string, len(s.Points))
		for i, p := range s.Points {
			points[i] = string(p)
		}
		add := func(key string, values []string) {
			if len(values) == 0 {
				return
			}
			seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, v := range values {
				seq.Content = append(seq.Content, scalar(v))
			}
			entry.Content = append(entry.Content, scalar(key), seq)
		}
		add("nodes", []string{s.Node.ID})
		if !slices.Equal(s.Points, []probes.Point{probes.PointAdmission}) {
			add("points", points)
		}
		add("policies", sorted(append(slices.Clone(s.Policies), d.Policies...)))
		add("probes", s.Probes)
		steps.Content = append(steps.Content, entry)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	return enc.Close()
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
