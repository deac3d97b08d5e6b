package printer

deny contains msg if {
	print("checking", input.metadata.name)
	input.spec.hostPID
	msg := "host PID"
}
