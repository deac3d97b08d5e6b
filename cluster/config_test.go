package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
  - name: a
    cluster: {server: "https://127.0.0.1:6443"}
  - name: b
    cluster: {server: "https://127.0.0.2:6443"}
users:
  - name: u
    user: {token: secret-token-value}
contexts:
  - name: first
    context: {cluster: a, user: u}
  - name: second
    context: {cluster: b, user: u}
current-context: first
`

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	noCurrent := filepath.Join(dir, "no-current")
	if err := os.WriteFile(noCurrent, []byte(strings.Replace(kubeconfig, "current-context: first", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken")
	if err := os.WriteFile(broken, []byte("users: [token: secret-token-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, context string
		host, gotContext    string
		err                 string
	}{
		{name: "current context", path: path, host: "https://127.0.0.1:6443", gotContext: "first"},
		{name: "named context", path: path, context: "second", host: "https://127.0.0.2:6443", gotContext: "second"},
		{name: "unknown context", path: path, context: "third", err: `context "third" not found in kubeconfig ` + path},
		{name: "no current context", path: noCurrent, err: "has no current context: pass --context NAME"},
		{name: "missing file", path: filepath.Join(dir, "absent"), err: "load kubeconfig " + filepath.Join(dir, "absent")},
		{name: "unparsable file", path: broken, err: "load kubeconfig " + broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, name, err := LoadConfig(tt.path, tt.context)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrConfig) {
					t.Fatalf("error %v, want ErrConfig containing %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "secret-token-value") {
					t.Errorf("error %q prints the token", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Host != tt.host || name != tt.gotContext || cfg.Timeout != RequestTimeout || cfg.QPS != ClientQPS {
				t.Errorf("host %s context %s timeout %v, want %s %s %v", cfg.Host, name, cfg.Timeout, tt.host, tt.gotContext, RequestTimeout)
			}
		})
	}
}
