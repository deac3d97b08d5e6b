package policies

import (
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/threatcov/threatcov/probes"
)

// TestBuildInputMatchesFullConversion holds the inputs placed from a probe's one conversion
// to converting the probe placed in each namespace in full (what buildInput did before):
// same maps, same Rego values, same requests.
func TestBuildInputMatchesFullConversion(t *testing.T) {
	ps, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	ps = append(ps, hostPIDDeployment, hostPIDCronJob, privilegedEphemeral, inLegacy, nodePortService,
		probes.Probe{Name: "no-metadata", Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "spec": map[string]any{}}},
		probes.Probe{Name: "metadata-not-an-object", Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": "x",
			"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"namespace": "tmpl"}, "spec": map[string]any{}}}}},
	)
	ev := newEvaluator(t, loadFixtures(t))
	for _, p := range ps {
		for _, ns := range []string{"payments", "legacy", "default"} {
			got, want := ev.buildInput(p, ns), fullInput(ev, p, ns)
			if got.err == nil {
				got.err = got.regoValues() // built on first use
			}
			if (got.err == nil) != (want.err == nil) {
				t.Fatalf("%s@%s: error %v, want %v", p.Name, ns, got.err, want.err)
			}
			if !reflect.DeepEqual(got.object, want.object) || !reflect.DeepEqual(got.pod, want.pod) {
				t.Errorf("%s@%s: maps differ", p.Name, ns)
			}
			for _, c := range []struct {
				name      string
				got, want ast.Value
			}{
				{"object", got.objectValue, want.objectValue},
				{"review", termValue(got.objectReview), termValue(want.objectReview)},
				{"pod review", termValue(got.podReview), termValue(want.podReview)},
			} {
				if (c.got == nil) != (c.want == nil) || c.got != nil && c.got.Compare(c.want) != 0 {
					t.Errorf("%s@%s: %s\n got %v\nwant %v", p.Name, ns, c.name, c.got, c.want)
				}
			}
			if !reflect.DeepEqual(got.objectRequest, want.objectRequest) || !reflect.DeepEqual(got.podRequest, want.podRequest) {
				t.Errorf("%s@%s: requests differ", p.Name, ns)
			}
		}
	}
	for _, p := range ps {
		if md, ok := p.Object["metadata"].(map[string]any); ok && md["namespace"] != nil && p.Name != inLegacy.Name {
			t.Errorf("%s: buildInput wrote a namespace into the probe", p.Name)
		}
	}
}

func termValue(t *ast.Term) ast.Value {
	if t == nil {
		return nil
	}
	return t.Value
}

// fullInput converts the probe placed in namespace in full.
func fullInput(e *Evaluator, probe probes.Probe, namespace string) *probeInput {
	in := &probeInput{}
	in.object = probes.Place(probe.Object, namespace)
	var err error
	if in.objectValue, err = ast.InterfaceToValue(in.object); err != nil {
		in.err = err
		return in
	}
	nsLabels := e.nsLabels(namespace)
	op := probe.Operation
	if op == "" {
		op = "CREATE"
	}
	admitted := in.object
	if op == "CREATE" && probe.SubResource == "" {
		admitted = probes.Admit(in.object)
	}
	in.objectRequest = requestFor(admitted, nsLabels, probes.Attacker, probe.Operation, probe.SubResource)
	var oldObj map[string]any
	if probe.OldObject != nil {
		oldObj = probes.Place(probe.OldObject, namespace)
	}
	in.objectReview = fullReview(admitted, oldObj, op, probe.SubResource, in.objectRequest)
	if in.pod = probes.ExpandPod(in.object); in.pod != nil {
		in.pod = probes.Admit(in.pod)
		controller, _ := probes.Controller(str(in.object, "kind"))
		in.podRequest = requestFor(in.pod, nsLabels, controller, "CREATE", "")
		in.podReview = fullReview(in.pod, nil, op, "", in.podRequest)
	}
	return in
}

// fullReview converts the whole review, object included.
func fullReview(obj, old map[string]any, op, sub string, r request) *ast.Term {
	apiVersion := str(obj, "apiVersion")
	version := apiVersion
	if i := strings.Index(apiVersion, "/"); i >= 0 {
		version = apiVersion[i+1:]
	}
	rv := map[string]any{
		"kind":      map[string]any{"group": r.group, "version": version, "kind": r.kind},
		"object":    obj,
		"operation": op,
		"name":      r.name,
		"uid":       "threatcov-probe",
		"userInfo":  map[string]any{"username": r.user.Username, "groups": groupsOf(r.user)},
		"dryRun":    false,
	}
	if !r.clusterScoped() {
		rv["namespace"] = r.namespace
	}
	if old != nil {
		rv["oldObject"] = old
	}
	if sub != "" {
		rv["subResource"] = sub
	}
	return ast.NewTerm(ast.MustInterfaceToValue(rv))
}
