package frameworks_test

import (
	"fmt"

	"github.com/threatcov/threatcov/frameworks"
)

// Looking up a technique, and checking an id a mapping file names.
func Example() {
	attack := frameworks.Get(frameworks.ATTACK)
	t, _ := attack.Technique("T1611")
	fmt.Println(t.Name, t.Tactics, attack.URL(t.ID))
	fmt.Println(attack.Check("T1064"))

	tm := frameworks.Get(frameworks.ThreatMatrix)
	hostPath, _ := tm.Technique("MS-TA9013")
	fmt.Println(hostPath.Name, hostPath.Tactics, hostPath.Attack)
	// Output:
	// Escape to Host [privilege-escalation] https://attack.mitre.org/techniques/T1611/
	// "T1064" is not a technique of MITRE ATT&CK Enterprise v18.1: see `threatcov frameworks list --all` and docs/frameworks.md
	// Writable hostPath mount [Persistence Privilege Escalation Lateral Movement] [T1611]
}
