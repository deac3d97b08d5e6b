package baseline

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the baseline reader: it must return a result or an error,
// never panic or hang. Read results are compared with each other and gated, which must not
// panic either (a hostile baseline reaches Compare in `threatcov check` and `diff`).
func FuzzRead(f *testing.F) {
	good, _ := json.Marshal(result(1, blocked("hostpid", "gk:hostpid"), open("priv"), open("exploit"), open("other"), open("token")))
	f.Add(good)
	f.Add([]byte(`{"schemaVersion": "threatcov.dev/report/v1", "trees": [{"goals": [{"id": "g", "openPaths": [{"steps": ["a#action"]}], "openPathsNotShown": 3}]}]}`))
	f.Add([]byte(`{"schemaVersion": "threatcov.dev/report/v1", "summary": {"paths": {"coverage": {"covered": null, "total": 0}}}}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Read(strings.NewReader(string(data)), "fuzz.json")
		if err != nil {
			return
		}
		base := result(1, blocked("hostpid", "gk:hostpid"), open("priv"), open("exploit"), open("other"), open("token"))
		Compare(r, base)
		Compare(base, r)
		Compare(r, r)
		for _, g := range []Gate{
			{FailOn: []Rule{FailNewOpenPaths, FailNewOpenGoals, FailAnyOpenGoal}, MinPathCoverage: mustPct("50"), MinGoalCoverage: mustPct("50")},
		} {
			if _, err := Check(r, base, g); err != nil {
				t.Fatal(err)
			}
			if _, err := Check(base, r, g); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func mustPct(s string) *big.Rat {
	r, err := ParsePercent(s)
	if err != nil {
		panic(err)
	}
	return r
}
