package hostile.recursion

deny contains msg if {
	some msg in deny
}

deny contains "again" if count(deny) > 0
