package testcluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/threatcov/threatcov/cluster"
	"github.com/threatcov/threatcov/internal/testcluster"
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

func TestDryRunAdmission(t *testing.T) {
	c := testcluster.Shared(t)
	ctx := t.Context()

	namespaces := map[string]map[string]string{
		"baseline": {"pod-security.kubernetes.io/enforce": "baseline"},
		"open":     nil,
		"vap":      {vapNamespaceLabel: "true"},
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
			denied: true, by: cluster.DeniedByValidatingAdmissionPolicy,
			contains: []string{"ValidatingAdmissionPolicy 'deny-host-pid' with binding 'deny-host-pid-binding' denied request", "sharing the host PID namespace is not allowed"},
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
			// The API server loads ValidatingAdmissionPolicies through an informer, so a
			// policy just created takes effect a moment later: wait for that, bounded.
			for deadline := time.Now().Add(30 * time.Second); tt.by == cluster.DeniedByValidatingAdmissionPolicy &&
				err == nil && time.Now().Before(deadline); err = create() {
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
