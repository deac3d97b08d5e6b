package cluster

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/probes"
)

var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// ephemeral sends an ephemeral-container probe (kubectl debug) as a dry-run UPDATE of the
// pods/ephemeralcontainers subresource of a pod that already runs in the namespace: the
// request needs an existing pod, and a dry-run create leaves none. The target is the first
// pod by name that has not terminated; the probe's ephemeral containers are added to it
// (renamed on a clash, aimed at its first container). Without such a pod the probe is an
// ErrNeedsPod error. Admission sees what it would see for a real kubectl debug on that pod;
// a Pod Security denial may in principle also name a violation of the target pod itself,
// which was admitted under the namespace's level unless the level changed since.
func (p *LiveProber) ephemeral(ctx context.Context, probe probes.Probe, namespace string) analyzer.LiveVerdict {
	md, _ := probe.Object["metadata"].(map[string]any)
	if ns, _ := md["namespace"].(string); ns != "" {
		namespace = ns
	}
	key := probe.Name + "@" + namespace
	p.mu.Lock()
	v, ok := p.cache[key]
	p.mu.Unlock()
	if ok {
		return v
	}
	spec, _ := probe.Object["spec"].(map[string]any)
	containers, _ := spec["ephemeralContainers"].([]any)
	if len(containers) == 0 {
		return analyzer.LiveVerdict{Err: "the probe's object has no spec.ephemeralContainers"}
	}
	pods := p.dyn.Resource(podsResource).Namespace(namespace)
	v = func() analyzer.LiveVerdict {
		for attempt := 0; ; attempt++ {
			target, err := p.targetPod(ctx, namespace)
			if err != nil {
				return analyzer.LiveVerdict{Err: err.Error()}
			}
			if target == nil {
				return analyzer.LiveVerdict{Err: fmt.Sprintf("%s: no running pod in namespace %s to add the ephemeral container to (kubectl debug needs one); not probed live", ErrNeedsPod, namespace)}
			}
			updated := addEphemeral(target, containers)
			var conflict bool
			v := p.send(ctx, target.GetName(), func(ctx context.Context) error {
				_, err := pods.Update(ctx, updated, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}, "ephemeralcontainers")
				conflict = apierrors.IsConflict(err)
				return err
			})
			if conflict && attempt == 0 {
				continue // the pod changed between list and update: once more with a fresh copy
			}
			if v.Err == "" {
				v.Message = joinNonEmpty(" ", v.Message, fmt.Sprintf("(ephemeral container added to the existing pod %s/%s)", namespace, target.GetName()))
			}
			return v
		}
	}()
	if ctx.Err() == nil {
		p.mu.Lock()
		p.cache[key] = v
		p.mu.Unlock()
	}
	return v
}

// targetPod returns the first pod by name in namespace that has not terminated, or nil.
func (p *LiveProber) targetPod(ctx context.Context, namespace string) (*unstructured.Unstructured, error) {
	list, err := p.dyn.Resource(podsResource).Namespace(namespace).List(ctx, metav1.ListOptions{Limit: 100})
	if err != nil {
		return nil, fmt.Errorf("list the pods of %s to find one for the ephemeral-container probe: %w", namespace, err)
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool { return items[i].GetName() < items[j].GetName() })
	for i := range items {
		phase, _, _ := unstructured.NestedString(items[i].Object, "status", "phase")
		if phase != "Succeeded" && phase != "Failed" && items[i].GetDeletionTimestamp() == nil {
			return &items[i], nil
		}
	}
	return nil, nil
}

// addEphemeral returns target with the probe's ephemeral containers appended: names made
// unique in the pod, targetContainerName set to the pod's first container.
func addEphemeral(target *unstructured.Unstructured, probeContainers []any) *unstructured.Unstructured {
	out := target.DeepCopy()
	taken := map[string]bool{}
	var first string
	for _, field := range []string{"containers", "initContainers", "ephemeralContainers"} {
		list, _, _ := unstructured.NestedSlice(out.Object, "spec", field)
		for i, c := range list {
			name, _ := c.(map[string]any)["name"].(string)
			taken[name] = true
			if field == "containers" && i == 0 {
				first = name
			}
		}
	}
	existing, _, _ := unstructured.NestedSlice(out.Object, "spec", "ephemeralContainers")
	for _, c := range probeContainers {
		m, _ := c.(map[string]any)
		m = probes.DeepCopy(m)
		if m == nil {
			continue
		}
		name, _ := m["name"].(string)
		for base, n := name, 2; taken[name]; n++ {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		m["name"] = name
		taken[name] = true
		if _, ok := m["targetContainerName"]; ok && first != "" {
			m["targetContainerName"] = first
		}
		existing = append(existing, m)
	}
	// Set directly: SetNestedSlice deep-copies with DeepCopyJSONValue, which panics on the
	// int values a probe decoded from YAML may hold.
	spec, _ := out.Object["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
		out.Object["spec"] = spec
	}
	spec["ephemeralContainers"] = existing
	return out
}
