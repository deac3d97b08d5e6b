# METADATA
# description: >-
#   Reads the object under review the same way wherever the policy runs: conftest in CI hands
#   the manifest over as input, Gatekeeper hands over an AdmissionReview (input.review) and the
#   Constraint's parameters.
package lib.core

# Kept so Gatekeeper versions that parse the legacy rego field as v0 accept this library too.
import rego.v1

default is_gatekeeper := false

is_gatekeeper if input.review.object

resource := input.review.object if is_gatekeeper

resource := input if not is_gatekeeper

kind := resource.kind

name := resource.metadata.name

# The Constraint's parameters; in CI there are none and each policy falls back to its default.
default parameters := {}

parameters := input.parameters if {
	is_gatekeeper
	input.parameters
}

format_with_id(msg, id) := {
	"msg": sprintf("%s: %s", [id, msg]),
	"details": {"policyID": id},
}
