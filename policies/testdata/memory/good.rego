package hostile.good

deny contains "host PID" if input.spec.hostPID
