package hostile.conflict

# Two values for one complete rule: a runtime error, not a verdict.
deny := "one" if input.kind == "Pod"

deny := "two" if input.spec.hostPID
