# The result shapes conftest accepts: strings, objects with msg, and boolean rules.
package main

import rego.v1

deny contains msg if {
	input.spec.hostPID
	msg := "host PID"
}

deny_objects contains {"msg": "host network", "details": {"field": "hostNetwork"}} if input.spec.hostNetwork

violation_bool if input.spec.hostIPC

deny_false := false
