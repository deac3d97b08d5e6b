package hostile.dns

deny contains msg if {
	input.kind == "Pod"
	addrs := net.lookup_ip_addr("example.com")
	msg := sprintf("%v", [addrs])
}
