package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/probes"
)

// Short names for the deniers, as the analyzer reports them ("live:psa").
var shortDenier = map[string]string{
	DeniedByPodSecurity:               "psa",
	DeniedByValidatingAdmissionPolicy: "vap",
	DeniedByWebhook:                   "webhook",
}

// ErrNeedsPod starts the error of probes that act on an existing pod and cannot be sent:
// CONNECT exec/attach always (CONNECT requests take no dryRun), and an ephemeral-container
// UPDATE when the namespace has no running pod to add it to.
const ErrNeedsPod = "needs an existing pod"

// LiveProber sends probes to a cluster as server-side dry-run creates (dryRun=All; for
// ephemeral containers a dry-run update of an existing pod's pods/ephemeralcontainers) and
// classifies the answer with ClassifyDryRunError. It implements analyzer.LiveProber and is
// safe for concurrent use.
//
// Nothing is persisted: every write it sends carries dryRun=All, so admission (mutating and
// validating, webhooks included, which see dryRun: true) and validation run but storage is
// skipped. It sends no other writes.
type LiveProber struct {
	cfg    *rest.Config // the caller's, with the warning collector; copied to impersonate
	dyn    dynamic.Interface
	mapper meta.RESTMapper

	mu    sync.Mutex
	cache map[string]analyzer.LiveVerdict
	// as holds a client per controller service account the Pods of workloads are sent as.
	as map[string]dynamic.Interface
	// noImpersonation is the API server's refusal of the first impersonated request; once
	// set, workloads' Pods are sent as the caller and their verdicts say so.
	noImpersonation string
	notes           []string
}

var _ analyzer.LiveProber = (*LiveProber)(nil)

// NewLiveProber builds a prober from a client configuration. The configuration is copied;
// its warning handler is replaced so warnings (Pod Security "would violate" warnings on
// workloads, deprecations) reach the verdicts instead of the log.
func NewLiveProber(cfg *rest.Config) (*LiveProber, error) {
	c := rest.CopyConfig(cfg)
	c.WarningHandler = nil
	c.WarningHandlerWithContext = warningCollector{}
	dyn, err := dynamic.NewForConfig(c)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	return &LiveProber{cfg: c, dyn: dyn, mapper: mapper, cache: map[string]analyzer.LiveVerdict{}, as: map[string]dynamic.Interface{}}, nil
}

// Notes are what the caller must be told once, not per verdict: that the caller may not
// impersonate the controllers' service accounts, so workloads' Pods were sent as the caller.
func (p *LiveProber) Notes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.notes...)
}

type warningsKey struct{}

// warnings collects the warning headers of the requests made with one context.
type warnings struct {
	mu   sync.Mutex
	list []string
}

type warningCollector struct{}

func (warningCollector) HandleWarningHeaderWithContext(ctx context.Context, _ int, _ string, text string) {
	if w, _ := ctx.Value(warningsKey{}).(*warnings); w != nil {
		w.mu.Lock()
		w.list = append(w.list, text)
		w.mu.Unlock()
	}
}

// DryRun sends probe into namespace (cluster-scoped kinds ignore it; a probe that names its
// own namespace keeps it) and says whether admission denied it. Workloads (Deployment,
// CronJob, ...) are sent twice: the workload itself, and the Pod its controller would
// create, because Pod Security admission only warns on workloads and denies their Pods.
// The Pod is sent as the controller that creates it (its service account in kube-system,
// impersonated; docs/semantics.md, "The requests, as the API server sends them"), and as the caller only where the caller may
// not impersonate it, which the verdict then says. The step is denied when either is.
// Verdicts are cached per probe and namespace.
func (p *LiveProber) DryRun(ctx context.Context, probe probes.Probe, namespace string) analyzer.LiveVerdict {
	if probe.Operation == "UPDATE" && probe.SubResource == "ephemeralcontainers" {
		return p.ephemeral(ctx, probe, namespace)
	}
	if probe.Operation == "CONNECT" || probe.SubResource != "" {
		return analyzer.LiveVerdict{Err: fmt.Sprintf("%s: %s %s acts on a running pod and cannot be dry-run (CONNECT requests take no dryRun); not probed live", ErrNeedsPod, probe.Operation, orPods(probe.SubResource))}
	}
	obj := &unstructured.Unstructured{Object: probes.DeepCopy(probe.Object)}
	gvk := obj.GroupVersionKind()
	m, err := p.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return analyzer.LiveVerdict{Err: fmt.Sprintf("the cluster does not serve %s: %v", gvk, err)}
	}
	namespaced := m.Scope.Name() == meta.RESTScopeNameNamespace
	key := probe.Name
	if namespaced {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(namespace)
		}
		key += "@" + obj.GetNamespace()
	} else {
		obj.SetNamespace("")
	}
	p.mu.Lock()
	v, ok := p.cache[key]
	p.mu.Unlock()
	if ok {
		return v
	}

	v = p.create(ctx, m.Resource, obj)
	if pod := probes.ExpandPod(obj.Object); pod != nil && !v.Denied {
		pv, asCaller := p.createPod(ctx, obj.GetKind(), &unstructured.Unstructured{Object: pod})
		what := fmt.Sprintf("the Pod %s %q would create", obj.GetKind(), obj.GetName())
		if asCaller != "" {
			what += " (" + asCaller + ")"
		}
		switch {
		case pv.Denied && asCaller != "":
			// Judged on the wrong requester: a policy that exempts the controller would let
			// the real Pod through, so this denial proves nothing (never a live block).
			v = analyzer.LiveVerdict{Err: fmt.Sprintf("%s is denied, but that proves nothing about the Pod the controller creates: %s", what, pv.Message)}
		case pv.Denied:
			pv.Message = fmt.Sprintf("%s %q was admitted%s, but %s is denied: %s", obj.GetKind(), obj.GetName(), bracket(v.Message), what, pv.Message)
			v = pv
		case v.Err != "":
		case pv.Err != "":
			v = analyzer.LiveVerdict{Err: fmt.Sprintf("%s: %s", what, pv.Err)}
		default:
			v.Message = joinNonEmpty("; ", v.Message, pv.Message)
			if asCaller != "" {
				v.Message = joinNonEmpty("; ", v.Message, what+" was admitted")
			}
		}
	}
	if ctx.Err() == nil { // a cancelled request says nothing about the cluster: not cached
		p.mu.Lock()
		p.cache[key] = v
		p.mu.Unlock()
	}
	return v
}

// PrefetchWorkers is how many dry-runs Prefetch keeps in flight.
const PrefetchWorkers = 8

// Prefetch sends every probe into every namespace, PrefetchWorkers at a time, and caches the
// verdicts, so the analyzer's one-at-a-time DryRun calls are answered from memory. On a
// remote API server this divides the wall time by about PrefetchWorkers; the requests are the
// same. It returns when all are answered or ctx is done.
func (p *LiveProber) Prefetch(ctx context.Context, ps []probes.Probe, namespaces []string) {
	type job struct {
		probe probes.Probe
		ns    string
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range PrefetchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				p.DryRun(ctx, j.probe, j.ns)
			}
		}()
	}
feed:
	for _, pr := range ps {
		for _, ns := range namespaces {
			select {
			case jobs <- job{pr, ns}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
}

// create sends one dry-run create and classifies the answer; warnings go into Message.
func (p *LiveProber) create(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) analyzer.LiveVerdict {
	return p.send(ctx, obj.GetName(), func(ctx context.Context) error {
		var ri dynamic.ResourceInterface = p.dyn.Resource(gvr)
		if ns := obj.GetNamespace(); ns != "" {
			ri = p.dyn.Resource(gvr).Namespace(ns)
		}
		_, err := ri.Create(ctx, obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	})
}

// createPod sends the dry-run create of the Pod a workload of kind creates, as the workload's
// controller: its service account, impersonated by username alone, so the API server gives
// it the groups it gives that service account (the same as probes.Controller's). When the
// caller may not impersonate it, the Pod is sent as the caller, asCaller says so for the
// verdict, and Notes says so once.
func (p *LiveProber) createPod(ctx context.Context, kind string, pod *unstructured.Unstructured) (v analyzer.LiveVerdict, asCaller string) {
	controller, ok := probes.Controller(kind)
	if !ok {
		asCaller = fmt.Sprintf("sent as the caller: threatcov knows no controller for %s", kind)
		return p.create(ctx, podsResource, pod), asCaller
	}
	p.mu.Lock()
	refused := p.noImpersonation
	p.mu.Unlock()
	fallback := func(why string) string {
		return fmt.Sprintf("sent as the caller, not as %s, which creates it: %s", controller.Username, why)
	}
	if refused != "" {
		return p.create(ctx, podsResource, pod), fallback("impersonation is forbidden")
	}
	dyn, err := p.impersonating(controller.Username)
	if err != nil {
		return analyzer.LiveVerdict{Err: err.Error()}, ""
	}
	v = p.send(ctx, pod.GetName(), func(ctx context.Context) error {
		_, err := dyn.Resource(podsResource).Namespace(pod.GetNamespace()).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "cannot impersonate") {
			p.mu.Lock()
			if p.noImpersonation == "" {
				p.noImpersonation = err.Error()
				p.notes = append(p.notes, fmt.Sprintf("the Pods of workload probes are sent as the caller, not as the controllers' service accounts that create them, so a policy that exempts those is judged on the wrong requester: %v; grant the Role threatcov-impersonate-controllers (docs/cluster.md, \"Probing live\")", err))
			}
			p.mu.Unlock()
			refused = err.Error()
		}
		return err
	})
	if refused != "" {
		return p.create(ctx, podsResource, pod), fallback("impersonation is forbidden")
	}
	return v, ""
}

// impersonating returns the client that sends requests as username.
func (p *LiveProber) impersonating(username string) (dynamic.Interface, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.as[username]; ok {
		return d, nil
	}
	c := rest.CopyConfig(p.cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: username}
	d, err := dynamic.NewForConfig(c)
	if err != nil {
		return nil, err
	}
	p.as[username] = d
	return d, nil
}

// send runs one dry-run request and classifies its error; warnings go into Message.
func (p *LiveProber) send(ctx context.Context, name string, request func(context.Context) error) analyzer.LiveVerdict {
	w := &warnings{}
	ctx = context.WithValue(ctx, warningsKey{}, w)
	err := request(ctx)
	w.mu.Lock()
	warned := strings.Join(w.list, "; ")
	w.mu.Unlock()
	withWarnings := func(msg string) string {
		if warned == "" {
			return msg
		}
		return joinNonEmpty(" ", msg, "(warnings: "+warned+")")
	}
	denied, by, msg := ClassifyDryRunError(err)
	switch {
	case denied:
		return analyzer.LiveVerdict{Denied: true, By: shortDenier[by], Message: withWarnings(msg)}
	case err == nil:
		return analyzer.LiveVerdict{Message: withWarnings("")}
	case apierrors.IsAlreadyExists(err):
		// The store checks for a conflict only after validating admission has admitted the
		// object, so a conflict on a dry-run create is an admission.
		return analyzer.LiveVerdict{Message: withWarnings(fmt.Sprintf("admitted (an object named %q already exists, so the dry-run stopped at storage)", name))}
	default:
		return analyzer.LiveVerdict{Err: withWarnings(msg)}
	}
}

func orPods(sub string) string {
	if sub == "" {
		return "pods/exec or pods/attach"
	}
	return "pods/" + sub
}

func bracket(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
