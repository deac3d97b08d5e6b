package policies

import (
	"context"
	"strings"
	"testing"
)

// TestGatekeeperWebhookRules: a constraint judges only what Gatekeeper's webhook is sent. With
// the chart's rules an ephemeral container is denied; with rules that leave out
// pods/ephemeralcontainers it is never sent, so the constraint cannot stop it, while bare Pods
// are still denied.
func TestGatekeeperWebhookRules(t *testing.T) {
	const policy = "gatekeeper:TestPrivileged/no-privileged"
	byName := defaultProbesByName(t)
	verdict := func(t *testing.T, webhook, probe string) Evaluation {
		t.Helper()
		inv, err := Load("testdata/gatekeeper-privileged", webhook)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := NewEvaluator(inv)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Evaluate(context.Background(), inv.Policy(policy), byName[probe], "apps")
	}
	const ephemeral, pod = "privileged-container/ephemeralcontainer", "privileged-container/pod"
	if got := verdict(t, "testdata/gatekeeper-webhook-chart", ephemeral); got.Verdict != VerdictDenied {
		t.Errorf("chart rules: %s is %s, want denied", ephemeral, got.Verdict)
	}
	got := verdict(t, "testdata/gatekeeper-webhook", ephemeral)
	if got.Verdict != VerdictNotApplicable || len(got.Messages) == 0 || !strings.Contains(got.Messages[0], "UPDATE pods/ephemeralcontainers") {
		t.Errorf("rules without the subresource: %s is %s %v, want not-applicable saying the webhook is not sent UPDATE pods/ephemeralcontainers", ephemeral, got.Verdict, got.Messages)
	}
	if got := verdict(t, "testdata/gatekeeper-webhook", pod); got.Verdict != VerdictDenied {
		t.Errorf("rules without the subresource: %s is %s, want denied (Pods are still sent)", pod, got.Verdict)
	}
}

func TestResourceOf(t *testing.T) {
	for kind, want := range map[string]string{"Pod": "pods", "NetworkPolicy": "networkpolicies", "Ingress": "ingresses", "ClusterRoleBinding": "clusterrolebindings", "Gateway": "gateways"} {
		if got := resourceOf(kind); got != want {
			t.Errorf("resourceOf(%s) = %s, want %s", kind, got, want)
		}
	}
}
