package cluster_test

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/threatcov/threatcov/cluster"
)

// TestLiveProberWebhook: a validating webhook, standing in for Gatekeeper or Kyverno, denies
// hostPID pods and privileged ephemeral containers in one namespace. The prober reports its
// denials as live:webhook, on the Pod a Deployment would create too, and the webhook only
// ever sees dry-run reviews.
func TestLiveProberWebhook(t *testing.T) {
	c := setup(t)
	ctx := t.Context()
	const ns, label = "reader-webhook", "threatcov.test/reader-webhook"
	if err := c.CreateNamespace(ctx, ns, map[string]string{label: "deny"}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: targetPod}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}},
	}}
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var reviews, notDryRun atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(rw, "want an AdmissionReview", http.StatusBadRequest)
			return
		}
		reviews.Add(1)
		if review.Request.DryRun == nil || !*review.Request.DryRun {
			notDryRun.Add(1)
		}
		var p corev1.Pod
		if err := json.Unmarshal(review.Request.Object.Raw, &p); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		var reason string
		if p.Spec.HostPID {
			reason = "hostPID is not allowed (test webhook)"
		}
		for _, e := range p.Spec.EphemeralContainers {
			if sc := e.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
				reason = "privileged ephemeral container " + e.Name + " is not allowed (test webhook)"
			}
		}
		resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: reason == ""}
		if reason != "" {
			resp.Result = &metav1.Status{Code: http.StatusForbidden, Message: reason}
		}
		review.Request, review.Response = nil, resp
		_ = json.NewEncoder(rw).Encode(&review)
	}))
	defer srv.Close()

	url := srv.URL + "/validate"
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	timeout := int32(5)
	config := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "threatcov-reader-webhook"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "deny.reader.threatcov.test",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url,
				CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
					Resources: []string{"pods", "pods/ephemeralcontainers"}},
			}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{label: "deny"}},
		}},
	}
	webhooks := c.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := webhooks.Create(ctx, config, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Removed before the server closes, so no other test's pods meet a dead webhook.
	defer func() { _ = webhooks.Delete(ctx, config.Name, metav1.DeleteOptions{}) }()

	probes := defaultProbes(t)
	// The API server loads webhook configurations through an informer.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		p, err := cluster.NewLiveProber(c.Config)
		if err != nil {
			t.Fatal(err)
		}
		if p.DryRun(ctx, probes["host-pid/pod"], ns).Denied {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook was not called within 30s")
		}
	}

	prober, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		probe    string
		denied   bool
		contains string
	}{
		{"host-pid/pod", true, `admission webhook "deny.reader.threatcov.test" denied the request: hostPID is not allowed (test webhook)`},
		{"host-pid/deployment", true, `Deployment "host-pid-deployment" was admitted, but the Pod Deployment "host-pid-deployment" would create is denied: admission webhook`},
		{"privileged-container/ephemeralcontainer", true, "privileged ephemeral container debugger is not allowed (test webhook)"},
		{"run-as-root/pod", false, ""},
	} {
		got := prober.DryRun(ctx, probes[tt.probe], ns)
		if got.Err != "" || got.Denied != tt.denied || (tt.denied && got.By != "webhook") || !strings.Contains(got.Message, tt.contains) {
			t.Errorf("%s: %+v, want denied %v by webhook with %q", tt.probe, got, tt.denied, tt.contains)
		}
	}
	if n := notDryRun.Load(); n != 0 || reviews.Load() == 0 {
		t.Errorf("the webhook saw %d reviews, %d not marked dryRun", reviews.Load(), n)
	}
	assertNothingPersisted(t, c)
}
