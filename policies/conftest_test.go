package policies

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConftestResultShapes(t *testing.T) {
	inv, err := Load("testdata/conftest")
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvaluator(t, inv)
	p := inv.Policy("rego:main")
	tests := []struct {
		name string
		spec map[string]any
		want []string
	}{
		{"set of strings", map[string]any{"hostPID": true}, []string{"host PID"}},
		{"set of objects with msg", map[string]any{"hostNetwork": true}, []string{"host network"}},
		{"boolean rule", map[string]any{"hostIPC": true}, []string{"violation_bool"}},
		{"false and empty results admit", map[string]any{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ev.Evaluate(context.Background(), p, probe("shape", tt.name, pod("p", tt.spec)), "")
			if got.Err != "" {
				t.Fatal(got.Err)
			}
			if diff := cmp.Diff(tt.want, got.Messages); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if want := tt.want != nil; (got.Verdict == VerdictDenied) != want {
				t.Errorf("verdict %s, want denied=%v", got.Verdict, want)
			}
		})
	}
}
