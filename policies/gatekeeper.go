package policies

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Gatekeeper's own settings decide whether a constraint acts at all, before any Rego runs
// (docs/semantics.md, "Engine settings"). Each rule below is applied as Gatekeeper applies it.

// GatekeeperNamespace is where Gatekeeper runs. Its webhook does not judge requests in it:
// the install labels it admission.gatekeeper.sh/ignore, and the webhook's namespaceSelector
// skips namespaces with that label (gatekeeper: charts/gatekeeper, "exempt namespaces";
// docs "Exempting Namespaces from Gatekeeper").
const GatekeeperNamespace = "gatekeeper-system"

// GatekeeperIgnoreLabel on a namespace makes the validating webhook skip it, whatever its
// value (the ValidatingWebhookConfiguration's namespaceSelector is "key DoesNotExist").
const GatekeeperIgnoreLabel = "admission.gatekeeper.sh/ignore"

// gatekeeperActions are the enforcementAction values Gatekeeper accepts, compared exactly:
// "Deny" is not "deny" (gatekeeper pkg/util/enforcement_action.go, supportedEnforcementActions
// and ValidateEnforcementAction). A constraint with another value is refused.
var gatekeeperActions = []string{"deny", "dryrun", "warn", "scoped"}

// gatekeeperConfig is what a config.gatekeeper.sh Config resource says about admission.
type gatekeeperConfig struct {
	// exempt are namespace patterns (prefix* and *suffix globs) excluded from the webhook:
	// spec.match entries whose processes include "*" or "webhook" (docs "Exempting
	// Namespaces": processes audit, sync, webhook, mutation-webhook, *).
	exempt []string
	// sync are the kinds replicated into data.inventory (spec.sync.syncOnly).
	sync []string
}

func (b *builder) addGatekeeperConfig(o Object) {
	for _, m := range list(o.Object, "spec", "match") {
		procs := strs(m, "processes")
		if !slices.Contains(procs, "*") && !slices.Contains(procs, "webhook") {
			continue
		}
		b.gkConfig.exempt = append(b.gkConfig.exempt, strs(m, "excludedNamespaces")...)
	}
	for _, s := range list(o.Object, "spec", "sync", "syncOnly") {
		b.gkConfig.sync = append(b.gkConfig.sync, str(s, "kind"))
	}
	b.inv.Exemptions = append(b.inv.Exemptions, fmt.Sprintf("%s: Config %s exempts namespaces %s from the webhook", o.Source, str(o.Object, "metadata", "name"), strings.Join(b.gkConfig.exempt, ", ")))
}

// gatekeeperExempt says why Gatekeeper's webhook does not judge requests in namespace, or ""
// when it does.
func (inv *Inventory) gatekeeperExempt(namespace string, labels map[string]string) string {
	switch {
	case namespace == GatekeeperNamespace:
		return "Gatekeeper's webhook does not judge requests in its own namespace " + GatekeeperNamespace
	case hasKey(labels, GatekeeperIgnoreLabel):
		return fmt.Sprintf("namespace %s is labelled %s, which Gatekeeper's webhook skips", namespace, GatekeeperIgnoreLabel)
	}
	for _, p := range inv.gkExempt {
		if globMatch(p, namespace) {
			return fmt.Sprintf("Gatekeeper's Config exempts namespace %s (pattern %q) from the webhook", namespace, p)
		}
	}
	return ""
}

// GatekeeperWebhook is the name of Gatekeeper's validating webhook in its
// ValidatingWebhookConfiguration (charts/gatekeeper, gatekeeper-validating-webhook-configuration).
const GatekeeperWebhook = "validation.gatekeeper.sh"

// webhookRule is one rule of Gatekeeper's validating webhook: the requests the API server sends
// it. Only what is sent is judged; the chart's default rules include pods/ephemeralcontainers,
// but a webhook configured without it lets every ephemeral container through.
type webhookRule struct {
	groups, operations, resources []string
}

func isGatekeeperWebhook(obj map[string]any) bool {
	for _, w := range list(obj, "webhooks") {
		if str(w, "name") == GatekeeperWebhook {
			return true
		}
	}
	return false
}

// addGatekeeperWebhook reads the rules of Gatekeeper's validating webhook.
func (b *builder) addGatekeeperWebhook(o Object) {
	for _, w := range list(o.Object, "webhooks") {
		if str(w, "name") != GatekeeperWebhook {
			continue
		}
		b.inv.gkRulesKnown = true
		var parts []string
		for _, r := range list(w, "rules") {
			rule := webhookRule{groups: strs(r, "apiGroups"), operations: strs(r, "operations"), resources: strs(r, "resources")}
			b.inv.gkRules = append(b.inv.gkRules, rule)
			parts = append(parts, strings.Join(rule.operations, ",")+" "+strings.Join(rule.resources, ","))
		}
		b.inv.Exemptions = append(b.inv.Exemptions, fmt.Sprintf("%s: Gatekeeper's webhook %s is sent only %s", o.Source, GatekeeperWebhook, strings.Join(parts, "; ")))
	}
}

// gatekeeperNotSent says why the API server does not send request r to Gatekeeper's webhook,
// per the webhook's rules when the policy set holds its ValidatingWebhookConfiguration (else
// the chart's defaults, which send every request threatcov probes), or "" when it is sent.
// Rules match as the API server matches them: "*" is every resource but no subresource,
// "*/*" every subresource, "pods/*" every subresource of pods.
func (inv *Inventory) gatekeeperNotSent(r request) string {
	if !inv.gkRulesKnown {
		return ""
	}
	op := r.operation
	resource := resourceOf(r.kind)
	for _, rule := range inv.gkRules {
		if !matchesAny(rule.groups, r.group) || !matchesAny(rule.operations, op) {
			continue
		}
		for _, res := range rule.resources {
			name, sub, _ := strings.Cut(res, "/")
			if (name == "*" || name == resource) && (sub == r.subResource || sub == "*" && r.subResource != "") {
				return ""
			}
		}
	}
	what := op + " " + resource
	if r.subResource != "" {
		what += "/" + r.subResource
	}
	return fmt.Sprintf("Gatekeeper's webhook rules do not send %s to %s, so no constraint judges it", what, GatekeeperWebhook)
}

func matchesAny(patterns []string, v string) bool {
	return slices.Contains(patterns, "*") || slices.Contains(patterns, v)
}

// resourceOf is the API resource of a kind, as webhook rules name it: the lower-cased plural.
func resourceOf(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(k, "y") && !strings.ContainsAny(k[len(k)-2:len(k)-1], "aeiou"):
		return strings.TrimSuffix(k, "y") + "ies"
	case strings.HasSuffix(k, "s"):
		return k + "es"
	}
	return k + "s"
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// checkTemplateName applies Gatekeeper's rule that a ConstraintTemplate's name is its CRD
// kind in lower case; otherwise the template is refused and no constraint of it can exist
// (gatekeeper: "template's name ... is not equal to the lowercase of CRD's Kind").
func checkTemplateName(name, kind string) string {
	if name == "" || name == strings.ToLower(kind) {
		return ""
	}
	return fmt.Sprintf("ConstraintTemplate name %q is not the lower-cased kind %q: Gatekeeper refuses the template, so its constraints enforce nothing; rename it %s", name, kind, strings.ToLower(kind))
}

// AttackerNamespaces are the namespaces an attacker can try (docs/semantics.md, "Namespaces
// the attacker can use"): every declared namespace, every namespace a policy or Gatekeeper's
// Config names in a match or an exclusion, and default, which every cluster has. Sorted.
// Gatekeeper's own namespace, which its webhook skips, is tried when declared or named.
func (inv *Inventory) AttackerNamespaces() []string {
	set := map[string]bool{DefaultNamespace: true}
	for _, ns := range inv.Namespaces {
		set[ns.Name] = true
	}
	for _, p := range inv.Policies {
		for _, n := range p.namespaces {
			set[n] = true
		}
	}
	for _, n := range inv.gkExempt {
		set[n] = true
	}
	var out []string
	for n := range set {
		// A glob names a family of namespaces, not one an attacker can be sure exists.
		if n != "" && !strings.ContainsAny(n, "*") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// noteIgnoredNamespaces records, for `policies list`, the declared namespaces Gatekeeper's
// webhook skips.
func (b *builder) noteIgnoredNamespaces() {
	for _, ns := range b.inv.Namespaces {
		if why := b.inv.gatekeeperExempt(ns.Name, ns.Labels); why != "" && len(b.constraints) > 0 {
			b.inv.Exemptions = append(b.inv.Exemptions, fmt.Sprintf("%s: %s", ns.Source, why))
		}
	}
}

// namespacesNamed are the literal namespace names of a match block (namespaces and
// excludedNamespaces).
func namespacesNamed(match map[string]any) []string {
	return append(strs(match, "namespaces"), strs(match, "excludedNamespaces")...)
}

// addExpansionTemplate records which workload kinds Gatekeeper expands, and into what
// (expansion.gatekeeper.sh ExpansionTemplate: spec.applyTo kinds, spec.generatedGVK).
func (b *builder) addExpansionTemplate(o Object) {
	generated := str(o.Object, "spec", "generatedGVK", "kind")
	if b.inv.expansions == nil {
		b.inv.expansions = map[string]string{}
	}
	for _, a := range list(o.Object, "spec", "applyTo") {
		for _, k := range strs(a, "kinds") {
			b.inv.expansions[k] = generated
		}
	}
}

// expandsToPod reports whether Gatekeeper's expansion turns a workload of kind into a Pod,
// directly or through another generated kind (a CronJob into a Job into a Pod): the Pod is
// then reviewed as part of the workload's own request (gatekeeper docs, "Validating Workload
// Resources using ExpansionTemplate").
func (inv *Inventory) expandsToPod(kind string) bool {
	for range 4 {
		next, ok := inv.expansions[kind]
		if !ok {
			return false
		}
		if next == "Pod" {
			return true
		}
		kind = next
	}
	return false
}

// syncedObjects are the objects of the inventory that Gatekeeper's Config replicates into
// data.inventory (spec.sync.syncOnly): without a Config, none, as in a cluster that syncs
// nothing.
func (inv *Inventory) syncedObjects() []map[string]any {
	var out []map[string]any
	for _, kind := range inv.synced {
		out = append(out, inv.objects[kind]...)
	}
	return out
}

// limitRanges are the LimitRange objects of namespace.
func (inv *Inventory) limitRanges(namespace string) []map[string]any {
	var out []map[string]any
	for _, lr := range inv.objects["LimitRange"] {
		if str(lr, "metadata", "namespace") == namespace {
			out = append(out, lr)
		}
	}
	return out
}
