package policies

import (
	"fmt"
	"sort"
	"strings"
)

// Merge joins the inventory of policy files with a cluster's. Namespaces
// come from the cluster when it has them, with their Pod Security policies: their labels are
// what admission enforces now. Any other policy in both is an error (it would count twice). A
// constraint in one and its template in the other are not joined: read both from one side.
func Merge(files, live *Inventory) (*Inventory, error) {
	inCluster := map[string]bool{}
	for _, ns := range live.Namespaces {
		inCluster[ns.Name] = true
	}
	fromCluster := func(p *Policy) bool {
		if p.Engine != EnginePSA {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(p.ID, "psa:"), "/")
		return inCluster[name]
	}
	merged := &Inventory{}
	ids := map[string]string{}
	for _, p := range files.Policies {
		if !fromCluster(p) {
			ids[p.ID] = p.Source.String()
			merged.Policies = append(merged.Policies, p)
		}
	}
	for _, p := range live.Policies {
		if src, ok := ids[p.ID]; ok {
			return nil, fmt.Errorf("%w: policy %s is both in %s (--policies) and in the cluster (%s): drop one of them, e.g. an exported snapshot of the same cluster", ErrInput, p.ID, src, p.Source)
		}
		merged.Policies = append(merged.Policies, p)
	}
	sort.SliceStable(merged.Policies, func(i, j int) bool { return merged.Policies[i].ID < merged.Policies[j].ID })
	merged.Namespaces = append(merged.Namespaces, live.Namespaces...)
	for _, ns := range files.Namespaces {
		if !inCluster[ns.Name] {
			merged.Namespaces = append(merged.Namespaces, ns)
		}
	}
	sort.SliceStable(merged.Namespaces, func(i, j int) bool { return merged.Namespaces[i].Name < merged.Namespaces[j].Name })
	merged.Skipped = append(append(merged.Skipped, files.Skipped...), live.Skipped...)
	for _, k := range []*kyvernoSet{files.kyverno, live.kyverno} {
		if k == nil {
			continue
		}
		if merged.kyverno == nil {
			merged.kyverno = &kyvernoSet{}
		}
		merged.kyverno.docs = append(merged.kyverno.docs, k.docs...)
		merged.kyverno.exceptions = append(merged.kyverno.exceptions, k.exceptions...)
	}
	return merged, nil
}
