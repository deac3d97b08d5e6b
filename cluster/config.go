package cluster

import (
	"errors"
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ErrConfig marks a kubeconfig that cannot be loaded or has no usable context; the CLI maps
// it to a usage error.
var ErrConfig = errors.New("kubeconfig")

// LoadConfig returns the client configuration kubectl would use: the file at kubeconfig when
// set, else the files in KUBECONFIG, else ~/.kube/config; the context named context when set,
// else the current context. It also returns the context's name, which the reader puts in
// every object's source.
//
// Errors name the files and the context but never include the configuration's contents:
// clientcmd's messages carry paths and context names only, and this function adds nothing
// from the loaded credentials.
func LoadConfig(kubeconfig, context string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, "", fmt.Errorf("%w: load %s: %v", ErrConfig, describeRules(rules), err)
	}
	name := context
	if name == "" {
		name = raw.CurrentContext
	}
	if name == "" {
		return nil, "", fmt.Errorf("%w: %s has no current context: pass --context NAME", ErrConfig, describeRules(rules))
	}
	if _, ok := raw.Contexts[name]; !ok {
		return nil, "", fmt.Errorf("%w: context %q not found in %s: pass one of its contexts with --context", ErrConfig, name, describeRules(rules))
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("%w: context %q in %s: %v", ErrConfig, name, describeRules(rules), err)
	}
	cfg.UserAgent = "threatcov"
	return cfg, name, nil
}

func describeRules(rules *clientcmd.ClientConfigLoadingRules) string {
	if rules.ExplicitPath != "" {
		return "kubeconfig " + rules.ExplicitPath
	}
	files := rules.GetLoadingPrecedence()
	if len(files) == 1 {
		return "kubeconfig " + files[0]
	}
	return fmt.Sprintf("kubeconfig %v (KUBECONFIG)", files)
}
