package baseline

import (
	"testing"
	"time"

	"github.com/threatcov/threatcov/analyzer"
)

// TestStable: a baseline leaves out the day, the generation time and where the mapping entries
// and policies are written, and does not change the result it was made from.
func TestStable(t *testing.T) {
	r := result(0, open("hostpid"), open("token"))
	r.Inputs.Date = "2026-12-06"
	r.GeneratedAt = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	r.PolicySources = []analyzer.PolicySource{{Policy: "gk:hostpid", Source: analyzer.Location{File: "policies/a.yaml", Line: 3}}}
	r.Steps[0].MappedAt = &analyzer.Location{File: "mapping/default.yaml", Line: 12}

	s := Stable(r)
	if s.Inputs.Date != "" || !s.GeneratedAt.IsZero() || s.PolicySources != nil {
		t.Errorf("kept date %q, time %v or policy sources %v", s.Inputs.Date, s.GeneratedAt, s.PolicySources)
	}
	for _, st := range s.Steps {
		if st.MappedAt != nil {
			t.Errorf("step %s keeps its mapping location %v", st.Node, *st.MappedAt)
		}
	}
	if r.Steps[0].MappedAt == nil || r.PolicySources == nil || r.Inputs.Date == "" {
		t.Errorf("Stable changed the result it was given")
	}
	if len(s.Steps) != len(r.Steps) || s.Steps[0].Status != r.Steps[0].Status {
		t.Errorf("steps changed: %v", s.Steps)
	}
}
