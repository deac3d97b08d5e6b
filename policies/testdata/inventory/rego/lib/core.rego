# Rego v0 library in the konstraint style: the same policy runs in conftest (input is the
# manifest) and in Gatekeeper (input.review.object).
package lib.core

default is_gatekeeper = false

is_gatekeeper {
	has_field(input, "review")
	has_field(input.review, "object")
}

resource = input.review.object {
	is_gatekeeper
}

resource = input {
	not is_gatekeeper
}

format(msg) = {"msg": msg}

has_field(obj, field) {
	obj[field]
}
