package lib.core_test

import rego.v1

import data.lib.core

test_conftest_input_is_the_manifest if {
	core.resource == {"kind": "Pod", "metadata": {"name": "web"}} with input as {"kind": "Pod", "metadata": {"name": "web"}}
	not core.is_gatekeeper with input as {"kind": "Pod"}
}

test_gatekeeper_input_is_the_review_object if {
	review := {"review": {"object": {"kind": "Pod", "metadata": {"name": "web"}}}, "parameters": {"repos": ["a/"]}}
	core.is_gatekeeper with input as review
	core.name == "web" with input as review
	core.parameters == {"repos": ["a/"]} with input as review
}

test_parameters_default_to_empty if {
	core.parameters == {} with input as {"kind": "Pod"}
}

test_format_with_id if {
	core.format_with_id("no", "P0000") == {"msg": "P0000: no", "details": {"policyID": "P0000"}}
}
