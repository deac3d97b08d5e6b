package testcluster_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threatcov/threatcov/cluster"
	"github.com/threatcov/threatcov/internal/testcluster"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

func hostPIDPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "host-pid"},
		Spec: corev1.PodSpec{
			HostPID:    true,
			Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
}

var dryRun = metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

const vapNamespaceLabel = "threatcov.test/deny-host-pid"

// denyHostPID creates a ValidatingAdmissionPolicy refusing hostPID pods, bound with
// validationActions [Deny] to namespaces labelled vapNamespaceLabel=true only, so the
// unlabelled namespace keeps showing that the pod is otherwise admissible.
func denyHostPID(ctx context.Context, t *testing.T, client kubernetes.Interface) {
	t.Helper()
	fail := admissionregistrationv1.Fail
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-host-pid"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
						Rule: admissionregistrationv1.Rule{
							APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"},
						},
					},
				}},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: "!(has(object.spec.hostPID) && object.spec.hostPID == true)",
				Message:    "sharing the host PID namespace is not allowed",
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-host-pid-binding"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        "deny-host-pid",
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{vapNamespaceLabel: "true"}},
			},
		},
	}
	vap := client.AdmissionregistrationV1()
	if _, err := vap.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ValidatingAdmissionPolicy: %v", err)
	}
	if _, err := vap.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ValidatingAdmissionPolicyBinding: %v", err)
	}
}

const webhookNamespaceLabel = "threatcov.test/webhook"

// webhookServer is a validating admission webhook on loopback that denies hostPID pods, as
// Gatekeeper or Kyverno would, and counts the reviews it saw that were not dry-runs.
type webhookServer struct {
	*httptest.Server
	notDryRun atomic.Int32
}

func startWebhook(t *testing.T) *webhookServer {
	t.Helper()
	w := &webhookServer{}
	w.Server = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(rw, "want an AdmissionReview", http.StatusBadRequest)
			return
		}
		if review.Request.DryRun == nil || !*review.Request.DryRun {
			w.notDryRun.Add(1)
		}
		var pod corev1.Pod
		if err := json.Unmarshal(review.Request.Object.Raw, &pod); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		response := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: !pod.Spec.HostPID}
		if !response.Allowed {
			response.Result = &metav1.Status{Code: http.StatusForbidden, Message: "hostPID is not allowed (test webhook)"}
		}
		review.Request, review.Response = nil, response
		if err := json.NewEncoder(rw).Encode(&review); err != nil {
			t.Errorf("webhook: %v", err)
		}
	}))
	t.Cleanup(w.Close)
	return w
}

// registerWebhooks registers two webhooks, each for namespaces labelled
// webhookNamespaceLabel=<its case>: "deny" calls w; "unreachable" points at a closed
// loopback port with failurePolicy Fail. (A webhook declaring side effects, which the API
// server refuses to dry-run through, cannot be registered with admissionregistration/v1.)
func registerWebhooks(ctx context.Context, t *testing.T, client kubernetes.Interface, w *webhookServer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String() + "/validate"
	l.Close()

	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.Certificate().Raw})
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	timeout := int32(5)
	webhook := func(name, label, url string, sideEffects *admissionregistrationv1.SideEffectClass) admissionregistrationv1.ValidatingWebhook {
		return admissionregistrationv1.ValidatingWebhook{
			Name:         name,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			FailurePolicy:           &fail,
			SideEffects:             sideEffects,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{webhookNamespaceLabel: label}},
		}
	}
	config := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "threatcov-test"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{
			webhook("deny-host-pid.threatcov.test", "deny", w.URL+"/validate", &none),
			webhook("unreachable.threatcov.test", "unreachable", closed, &none),
		},
	}
	if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, config, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ValidatingWebhookConfiguration: %v", err)
	}
}

func TestDryRunAdmission(t *testing.T) {
	c := testcluster.Shared(t)
	ctx := t.Context()

	namespaces := map[string]map[string]string{
		"baseline":            {"pod-security.kubernetes.io/enforce": "baseline"},
		"open":                nil,
		"vap":                 {vapNamespaceLabel: "true"},
		"webhook-deny":        {webhookNamespaceLabel: "deny"},
		"webhook-unreachable": {webhookNamespaceLabel: "unreachable"},
	}
	for name, labels := range namespaces {
		if err := c.CreateNamespace(ctx, name, labels); err != nil {
			t.Fatal(err)
		}
	}
	// Created without CreateNamespace, so it lacks the default ServiceAccount.
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "no-service-account"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	denyHostPID(ctx, t, c.Client)
	webhook := startWebhook(t)
	registerWebhooks(ctx, t, c.Client, webhook)

	limited, err := kubernetes.NewForConfig(c.UserConfig(testcluster.LimitedUser))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		client    kubernetes.Interface
		namespace string
		pod       *corev1.Pod
		denied    bool
		by        string
		// contains are substrings the message must hold: what the report shows a user.
		contains []string
		// check asserts what an error that is not a denial looks like to a caller.
		check func(error) bool
		// settle: the outcome depends on an object the API server loads through an
		// informer (VAP, webhook configuration), so an admission just after creating it is
		// retried, bounded.
		settle bool
	}{
		{
			name: "pod security baseline denies hostPID", client: c.Client, namespace: "baseline", pod: hostPIDPod(),
			denied: true, by: cluster.DeniedByPodSecurity,
			contains: []string{`pods "host-pid" is forbidden: violates PodSecurity "baseline:latest"`, "hostPID=true"},
		},
		{
			name: "unlabelled namespace admits hostPID", client: c.Client, namespace: "open", pod: hostPIDPod(),
		},
		{
			name: "validating admission policy denies hostPID", client: c.Client, namespace: "vap", pod: hostPIDPod(),
			denied: true, by: cluster.DeniedByValidatingAdmissionPolicy, settle: true,
			contains: []string{"ValidatingAdmissionPolicy 'deny-host-pid' with binding 'deny-host-pid-binding' denied request", "sharing the host PID namespace is not allowed"},
		},
		{
			name: "webhook denies hostPID", client: c.Client, namespace: "webhook-deny", pod: hostPIDPod(),
			denied: true, by: cluster.DeniedByWebhook, settle: true,
			contains: []string{`admission webhook "deny-host-pid.threatcov.test" denied the request: hostPID is not allowed (test webhook)`},
		},
		{
			name: "unreachable webhook is an error, not a denial", client: c.Client, namespace: "webhook-unreachable", pod: hostPIDPod(),
			settle:   true,
			contains: []string{`failed calling webhook "unreachable.threatcov.test"`},
			check:    apierrors.IsInternalError,
		},
		{
			// 403 Forbidden like the Pod Security denial: only the message tells them apart.
			name: "missing service account is an error, not a denial", client: c.Client, namespace: "no-service-account", pod: hostPIDPod(),
			contains: []string{`error looking up service account no-service-account/default`},
			check:    apierrors.IsForbidden,
		},
		{
			name: "rbac refusal is an error, not a denial", client: limited, namespace: "baseline", pod: hostPIDPod(),
			contains: []string{`User "limited" cannot create resource "pods"`},
			check:    apierrors.IsForbidden,
		},
		{
			// 422 Invalid like a ValidatingAdmissionPolicy denial with its default reason.
			name: "schema validation is an error, not a denial", client: c.Client, namespace: "vap",
			pod:      &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "no-containers"}, Spec: corev1.PodSpec{HostPID: true}},
			contains: []string{`Pod "no-containers" is invalid`, "spec.containers: Required value"},
			check:    apierrors.IsInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			create := func() error {
				_, err := tt.client.CoreV1().Pods(tt.namespace).Create(ctx, tt.pod, dryRun)
				return err
			}
			err := create()
			for deadline := time.Now().Add(30 * time.Second); tt.settle && err == nil && time.Now().Before(deadline); err = create() {
				time.Sleep(100 * time.Millisecond)
			}

			denied, by, message := cluster.ClassifyDryRunError(err)
			if denied != tt.denied || by != tt.by {
				t.Fatalf("ClassifyDryRunError(%v) = denied %v by %q, want denied %v by %q", err, denied, by, tt.denied, tt.by)
			}
			if len(tt.contains) == 0 && err != nil {
				t.Fatalf("dry-run create: %v, want admitted", err)
			}
			for _, want := range tt.contains {
				if !strings.Contains(message, want) {
					t.Errorf("message %q does not contain %q", message, want)
				}
			}
			if tt.check != nil && !tt.check(err) {
				t.Errorf("error %#v has an unexpected status", err)
			}
		})
	}

	if n := webhook.notDryRun.Load(); n != 0 {
		t.Errorf("the webhook saw %d reviews not marked dryRun", n)
	}
	// Dry-run persists nothing, the admitted pod included.
	pods, err := c.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 0 {
		t.Errorf("dry-runs persisted %d pods, want none: %v", len(pods.Items), pods.Items)
	}
}

func TestKubeconfigs(t *testing.T) {
	c := testcluster.Shared(t)
	for _, tt := range []struct {
		path      string
		forbidden bool
	}{
		{path: c.Kubeconfig},
		{path: c.LimitedKubeconfig, forbidden: true},
	} {
		config, err := clientcmd.BuildConfigFromFlags("", tt.path)
		if err != nil {
			t.Fatal(err)
		}
		client, err := kubernetes.NewForConfig(config)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{})
		if tt.forbidden != apierrors.IsForbidden(err) || (!tt.forbidden && err != nil) {
			t.Errorf("%s: list namespaces: %v, want forbidden %v", tt.path, err, tt.forbidden)
		}
	}
}
