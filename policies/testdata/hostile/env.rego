package hostile.env

deny contains msg if {
	input.kind == "Pod"
	env := opa.runtime().env
	msg := sprintf("%v", [env])
}
