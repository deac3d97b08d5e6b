package hostile.grow

# Builds a 100-million-element array (gigabytes) one element at a time.
deny contains msg if {
	n := count(numbers.range(1, 100000000))
	n < 0
	msg := "unreachable"
}
