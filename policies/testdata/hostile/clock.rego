package hostile.clock

deny contains msg if {
	input.kind == "Pod"
	time.now_ns() % 2 == 0
	msg := "sometimes"
}
