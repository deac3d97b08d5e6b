package policies

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Kyverno's own configuration decides which requests reach any Kyverno policy before a rule is
// matched (docs/semantics.md, "Engine settings"): resourceFilters drop requests by kind,
// namespace and name, excludeGroups and excludeUsernames by requester. It lives in the
// ConfigMap "kyverno" of Kyverno's namespace. Without that ConfigMap in the policy set, the
// Helm chart's defaults apply (charts/kyverno values.yaml, config.resourceFilters and
// config.excludeGroups): requests in kube-system, kube-public and kube-node-lease are not
// judged, nor are those of kube-system's service accounts, which create the Pods of every
// Deployment, Job and DaemonSet. A Pod-only rule therefore does not see a controller's Pod:
// Kyverno's autogen rules on the workload are what stop it.
type kyvernoConfig struct {
	filters   [][3]string // [kind, namespace, name], each a wildcard pattern
	groups    []string
	usernames []string
	source    string
	fromChart bool
}

// KyvernoConfigMap is the name of Kyverno's configuration ConfigMap.
const KyvernoConfigMap = "kyverno"

var kyvernoChartDefaults = kyvernoConfig{
	filters: [][3]string{
		{"*/*", "kube-system", "*"}, {"*/*", "kube-public", "*"}, {"*/*", "kube-node-lease", "*"},
		{"ReplicaSet", "*", "*"}, {"ReplicaSet/*", "*", "*"},
	},
	groups:    []string{"system:serviceaccounts:kube-system"},
	source:    "the Kyverno Helm chart's defaults (no ConfigMap kyverno in the policy set)",
	fromChart: true,
}

var filterEntry = regexp.MustCompile(`\[([^\]]*)\]`)

// addKyvernoConfig reads the ConfigMap's resourceFilters ("[Kind,namespace,name][...]"),
// excludeGroups and excludeUsernames (comma-separated).
func (b *builder) addKyvernoConfig(o Object) {
	c := &kyvernoConfig{source: o.Source.String()}
	for _, m := range filterEntry.FindAllStringSubmatch(str(o.Object, "data", "resourceFilters"), -1) {
		parts := strings.Split(m[1], ",")
		for len(parts) < 3 {
			parts = append(parts, "*")
		}
		c.filters = append(c.filters, [3]string{strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1]), strings.TrimSpace(parts[2])})
	}
	split := func(key string) []string {
		var out []string
		for _, v := range strings.Split(str(o.Object, "data", key), ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	c.groups, c.usernames = split("excludeGroups"), split("excludeUsernames")
	b.inv.kyvernoConfig = c
}

// kyvernoConfigOf is the configuration in force: the policy set's ConfigMap, else the chart's.
func (inv *Inventory) kyvernoConfigOf() *kyvernoConfig {
	if inv.kyvernoConfig != nil {
		return inv.kyvernoConfig
	}
	return &kyvernoChartDefaults
}

// skips says why Kyverno judges no policy on request r, or "" when it does.
func (c *kyvernoConfig) skips(r request) string {
	kind := r.kind
	if r.subResource != "" {
		kind += "/" + r.subResource
	}
	for _, f := range c.filters {
		if kindFiltered(f[0], r.kind, r.subResource) && (r.namespace == "" && f[1] == "*" || wildcard(f[1], r.namespace)) && wildcard(f[2], r.name) {
			return fmt.Sprintf("Kyverno's resourceFilters skip %s in namespace %s ([%s,%s,%s], %s)", kind, r.namespace, f[0], f[1], f[2], c.source)
		}
	}
	for _, g := range r.user.Groups {
		if slices.Contains(c.groups, g) {
			return fmt.Sprintf("Kyverno's excludeGroups skip requests of group %s (%s), such as %s's", g, c.source, r.user.Username)
		}
	}
	if slices.Contains(c.usernames, r.user.Username) {
		return fmt.Sprintf("Kyverno's excludeUsernames skip %s (%s)", r.user.Username, c.source)
	}
	return ""
}

// kindFiltered matches a filter's kind ("Kind", "Kind/sub", "*/*") against a request. A pattern
// with a subresource part matches the kind and, when that part is "*", the kind itself and any
// of its subresources; one without matches the kind whatever the subresource (the wider
// reading: a filter that skips more requests can only report more open steps).
func kindFiltered(pattern, kind, sub string) bool {
	kp, sp, hasSub := strings.Cut(pattern, "/")
	if !hasSub {
		return wildcard(kp, kind)
	}
	return wildcard(kp, kind) && (sp == "*" || wildcard(sp, sub))
}

// wildcard matches Kyverno's patterns: '*' any run of characters, '?' one.
func wildcard(pattern, s string) bool {
	if pattern == "*" || pattern == s {
		return true
	}
	re := "^" + strings.ReplaceAll(strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*"), `\?`, ".") + "$"
	ok, _ := regexp.MatchString(re, s)
	return ok
}

// exemption is the line `policies list` prints about the configuration in force.
func (c *kyvernoConfig) exemption() string {
	var parts []string
	for _, f := range c.filters {
		parts = append(parts, "["+strings.Join(f[:], ",")+"]")
	}
	line := fmt.Sprintf("%s: Kyverno skips resourceFilters %s", c.source, strings.Join(parts, ""))
	if len(c.groups) > 0 {
		line += "; excludeGroups " + strings.Join(c.groups, ", ")
	}
	if len(c.usernames) > 0 {
		line += "; excludeUsernames " + strings.Join(c.usernames, ", ")
	}
	return line
}
