package policies

import "github.com/threatcov/threatcov/probes"

// Test probes, written inline; the real probe set lives in probes/families.

func container(name string, extra map[string]any) map[string]any {
	c := map[string]any{"name": name, "image": "registry.example.com/app:1.0"}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

var privileged = map[string]any{"securityContext": map[string]any{"privileged": true}}

func pod(name string, spec map[string]any) map[string]any {
	if spec["containers"] == nil {
		spec["containers"] = []any{container("app", nil)}
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "labels": map[string]any{"app": name}},
		"spec":     spec,
	}
}

func deployment(name string, spec map[string]any) map[string]any {
	if spec["containers"] == nil {
		spec["containers"] = []any{container("app", nil)}
	}
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": name}},
				"spec":     spec,
			},
		},
	}
}

func cronJob(name string, spec map[string]any) map[string]any {
	if spec["containers"] == nil {
		spec["containers"] = []any{container("app", nil)}
	}
	spec["restartPolicy"] = "OnFailure"
	return map[string]any{
		"apiVersion": "batch/v1", "kind": "CronJob",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"schedule":    "* * * * *",
			"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": spec}}},
		},
	}
}

func probe(family, variant string, obj map[string]any) probes.Probe {
	return probes.Probe{Name: family + "/" + variant, Family: family, Variant: variant, Operation: "CREATE", Object: obj}
}

var (
	benignPod         = probe("benign", "pod", pod("benign", map[string]any{}))
	hostPIDPod        = probe("host-pid", "pod", pod("host-pid", map[string]any{"hostPID": true}))
	hostPIDDeployment = probe("host-pid", "deployment", deployment("host-pid", map[string]any{"hostPID": true}))
	hostPIDCronJob    = probe("host-pid", "cronjob", cronJob("host-pid", map[string]any{"hostPID": true}))
	privilegedPod     = probe("privileged", "pod", pod("priv", map[string]any{
		"containers": []any{container("app", privileged)},
	}))
	privilegedInit = probe("privileged", "initcontainer", pod("priv-init", map[string]any{
		"initContainers": []any{container("init", privileged)},
	}))
	privilegedDeployment = probe("privileged", "deployment", deployment("priv", map[string]any{
		"containers": []any{container("app", privileged)},
	}))
	privilegedEphemeral = probes.Probe{
		Name: "privileged/ephemeralcontainer", Family: "privileged", Variant: "ephemeralcontainer",
		Operation: "UPDATE", SubResource: "ephemeralcontainers",
		Object: pod("priv-debug", map[string]any{
			"ephemeralContainers": []any{container("debugger", privileged)},
		}),
		OldObject: pod("priv-debug", map[string]any{}),
	}
	untrustedImagePod = probe("untrusted-image", "pod", pod("miner", map[string]any{
		"containers": []any{map[string]any{"name": "miner", "image": "evil.example.net/miner:latest"}},
	}))
	rootPod = probe("run-as-root", "pod", pod("root", map[string]any{
		"containers": []any{container("app", map[string]any{
			"securityContext": map[string]any{"runAsUser": 0},
			"resources":       map[string]any{"limits": map[string]any{"cpu": "1"}},
		})},
	}))
	restrictedPod = probe("hardened", "pod", pod("hardened", map[string]any{
		"securityContext": map[string]any{"runAsNonRoot": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
		"containers": []any{container("app", map[string]any{"securityContext": map[string]any{
			"allowPrivilegeEscalation": false,
			"capabilities":             map[string]any{"drop": []any{"ALL"}},
		}})},
	}))
	nodePortService = probe("node-port", "service", map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "exposed"},
		"spec":     map[string]any{"type": "NodePort", "ports": []any{map[string]any{"port": 80}}},
	})
	inLegacy     = inNamespace(hostPIDPod, "legacy")
	inKubeSystem = inNamespace(hostPIDPod, "kube-system")
)

func inNamespace(p probes.Probe, ns string) probes.Probe {
	obj := probes.DeepCopy(p.Object)
	obj["metadata"].(map[string]any)["namespace"] = ns
	p.Name += "-in-" + ns
	p.Object = obj
	return p
}
