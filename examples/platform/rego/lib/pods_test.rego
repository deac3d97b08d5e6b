package lib.pods_test

import rego.v1

import data.lib.pods

spec := {
	"containers": [{"name": "app"}],
	"initContainers": [{"name": "setup"}],
	"ephemeralContainers": [{"name": "debugger"}],
}

test_pod if {
	names := {c.name | some c in pods.all_containers} with input as {"kind": "Pod", "spec": spec}
	names == {"app", "setup", "debugger"}
}

test_containers_are_app_containers_only if {
	names := {c.name | some c in pods.containers} with input as {"kind": "Pod", "spec": spec}
	names == {"app"}
}

test_deployment_template if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": spec}}}
	count(pods.all_containers) == 3 with input as d
}

test_cronjob_template if {
	cj := {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}
	count(pods.all_containers) == 3 with input as cj
}

test_gatekeeper_review if {
	review := {"review": {"object": {"kind": "Pod", "spec": spec}}}
	count(pods.init_containers) == 1 with input as review
}

test_other_kinds_have_no_pod if {
	not pods.pod with input as {"kind": "Service", "spec": {}}
}
