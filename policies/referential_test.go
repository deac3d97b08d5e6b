package policies

import (
	"context"
	"testing"
)

func TestReferentialData(t *testing.T) {
	inv, err := Load("testdata/referential")
	if err != nil {
		t.Fatal(err)
	}
	existing := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "payments-api", "namespace": "payments", "labels": map[string]any{"app": "host-pid"}},
	}
	p := inv.Policy("gatekeeper:K8sUniqueAppLabel/unique-app")
	tests := []struct {
		name string
		opts []Option
		ns   string
		want Verdict
	}{
		{"no synced data: nothing to compare with", nil, "payments", VerdictAdmitted},
		{"synced pod with the same label", []Option{WithReferentialData([]map[string]any{existing})}, "payments", VerdictDenied},
		{"synced pod in another namespace", []Option{WithReferentialData([]map[string]any{existing})}, "default", VerdictAdmitted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := newEvaluator(t, inv, tt.opts...)
			got := ev.Evaluate(context.Background(), p, hostPIDPod, tt.ns)
			if got.Verdict != tt.want {
				t.Errorf("verdict %s (%s %v), want %s", got.Verdict, got.Err, got.Messages, tt.want)
			}
		})
	}
	if _, err := NewEvaluator(inv, WithReferentialData([]map[string]any{{"kind": "Pod"}})); err == nil {
		t.Error("an object without apiVersion and name must be rejected")
	}
}
