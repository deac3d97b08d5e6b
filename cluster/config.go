package cluster

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ErrConfig marks a kubeconfig that cannot be loaded or has no usable context; the CLI maps
// it to a usage error.
var ErrConfig = errors.New("kubeconfig")

// RequestTimeout bounds each request made with LoadConfig's configuration, unless the
// kubeconfig sets a timeout of its own.
const RequestTimeout = 60 * time.Second

// ClientQPS is the client-side request rate LoadConfig's configuration allows (burst twice
// that).
const ClientQPS = 50

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
	if cfg.Timeout == 0 {
		// A stalled API server must not hang an analysis; one list page or dry-run takes
		// milliseconds on a healthy one.
		cfg.Timeout = RequestTimeout
	}
	if cfg.QPS == 0 {
		// client-go's default of 5 requests per second would make --probe-live on the ~170
		// requests of the default probes take half a minute; the API server's priority and
		// fairness still protects it, as it does from kubectl's bursts.
		cfg.QPS, cfg.Burst = ClientQPS, 2*ClientQPS
	}
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
