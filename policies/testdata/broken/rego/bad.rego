package broken

deny contains msg if {
	input.kind == 
}
