package hostile.network

import rego.v1

deny contains msg if {
	resp := http.send({"method": "GET", "url": "http://127.0.0.1:1/exfiltrate"})
	msg := sprintf("%v", [resp])
}
