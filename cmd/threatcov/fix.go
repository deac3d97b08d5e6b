package main

import (
	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/remedies"
)

type fixOptions struct {
	analysis analysisFlags
	dir      string
	engine   string
	mode     string
	existing []string
	registry []string
	include  []string
}

func newFixCmd(s streams) *cobra.Command {
	var o fixOptions
	cmd := &cobra.Command{
		Use:   "fix",
		Short: "Write the reference policies that close the most open attack paths, and show the figures after",
		Long: `Write, for the deployed policy set, the smallest set of threatcov's reference policies
that closes every open path they can close, analyse again with them deployed, and print the
figures before and after.

Each reference policy is threatcov's own, proven by its tests to deny every probe of its steps
(every evasion variant, workload kind, init and ephemeral container) and to admit every benign
twin, offline and on a real kube-apiserver. --engine vap writes a ValidatingAdmissionPolicy
and its binding (no webhook to install); --engine gatekeeper a ConstraintTemplate whose code is
the same CEL, and its Constraint. --mode deny, warn or dryrun is the rollout stage (VAP
validationActions Deny, Warn, Audit; Gatekeeper enforcementAction deny, warn, dryrun): in warn
and dryrun the re-analysis counts none of their steps as blocked (monitored, or still bypassed).

--existing runs each written policy on the manifests you already deploy, and with a cluster
(--context, --kubeconfig, --from-cluster) on what it runs too, and lists what it would deny:
the cost of switching to deny. See docs/fix.md for each policy, what it may deny,
and where public libraries cover the same ground.`,
		Example: `  threatcov fix --policies examples/platform --dir fixes/
  threatcov fix --policies policies/ --dir fixes/ --mode dryrun --existing deploy/
  threatcov fix --policies policies/ --dir fixes/ --engine gatekeeper --allowed-registry registry.example/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := remedies.Config{
				Analysis: o.analysis.config(s),
				Options:  remedies.Options{Engine: remedies.Engine(o.engine), Mode: remedies.Mode(o.mode), AllowedRegistries: o.registry},
				Dir:      o.dir,
				Existing: o.existing,
				Include:  o.include,
			}
			rep, err := remedies.Fix(cmd.Context(), c)
			if err != nil {
				return err
			}
			return rep.Write(s.out, o.dir)
		},
	}
	o.analysis.register(cmd, 0) // fix lists every path for its plan and writes no report
	o.analysis.progress = s.err
	fl := cmd.Flags()
	fl.StringVar(&o.dir, "dir", "", "folder to write the policies to (created if missing; files an earlier run wrote are replaced)")
	fl.StringVar(&o.engine, "engine", string(remedies.EngineVAP), "policy engine to write for: vap or gatekeeper")
	fl.StringVar(&o.mode, "mode", string(remedies.ModeDeny), "what the written policies do: deny, warn or dryrun")
	fl.StringArrayVar(&o.existing, "existing", nil, "manifest file or folder you already deploy: list what each written policy would deny (repeatable)")
	fl.StringArrayVar(&o.registry, "allowed-registry", nil, "image reference prefix your images come from, e.g. registry.example/ (repeatable; without it the allowed-registries policy is not written)")
	fl.StringArrayVar(&o.include, "include", nil, "reference policy to write even where the plan does not need it, e.g. control-plane-placement (repeatable; docs/fix.md lists them)")
	// fix judges the policies it writes offline: live probing means nothing here.
	for _, f := range []string{"probe-live", "probe-namespace"} {
		_ = fl.MarkHidden(f)
	}
	_ = cmd.RegisterFlagCompletionFunc("engine", completeValues(remedies.Engines...))
	_ = cmd.RegisterFlagCompletionFunc("mode", completeValues(remedies.Modes...))
	return cmd
}
