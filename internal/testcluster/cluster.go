package testcluster

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The users in the static token file.
const (
	// AdminUser is in group system:masters: RBAC allows it everything.
	AdminUser = "admin"
	// LimitedUser has no group but system:authenticated and no role bindings: RBAC
	// denies it everything but discovery until a test binds it a role.
	LimitedUser = "limited"
)

// Options configure StartCluster. Zero values take the defaults documented per field.
type Options struct {
	// Dir holds etcd's data, keys, the token file, the kubeconfigs and both logs.
	// Required; tests pass t.TempDir().
	Dir string
	// APIServer and Etcd are the binaries; default: FindBinaries.
	APIServer, Etcd string
	// ExtraAPIServerArgs are appended to the kube-apiserver flags (later flags win).
	ExtraAPIServerArgs []string
}

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	// URL is the API server's address, https://127.0.0.1:<port>.
	URL string
	// Kubeconfig is a kubeconfig file for AdminUser (context "threatcov-test"), and
	// LimitedKubeconfig one for LimitedUser (context "threatcov-test-limited").
	Kubeconfig, LimitedKubeconfig string
	// Config is AdminUser's client configuration; Client a clientset built from it.
	Config *rest.Config
	Client kubernetes.Interface
	// Dir is Options.Dir; EtcdLog and APIServerLog are the processes' output files in it.
	Dir, EtcdLog, APIServerLog string
	// StartupTime is how long etcd and the API server took to become ready.
	StartupTime time.Duration

	caPEM   []byte
	tokens  map[string]string
	etcd    *process
	api     *process
	objects *objects // built on first use by Apply and friends
}

// ErrBinaryMissing is returned (wrapped) by FindBinaries when a binary cannot be found.
var ErrBinaryMissing = errors.New("binary missing")

// FindBinaries returns the kube-apiserver and etcd binaries to run: THREATCOV_KUBE_APISERVER
// and THREATCOV_ETCD when set, else .cache/bin/kube-apiserver under the module root found
// upwards from the working directory, and etcd on PATH.
func FindBinaries() (apiserver, etcd string, err error) {
	apiserver = os.Getenv("THREATCOV_KUBE_APISERVER")
	if apiserver == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", "", fmt.Errorf("kube-apiserver not built: %w", err)
		}
		apiserver = filepath.Join(root, ".cache", "bin", "kube-apiserver")
	}
	if _, err := os.Stat(apiserver); err != nil {
		return "", "", fmt.Errorf("kube-apiserver not built: %s: %w: run scripts/cluster-build.sh or set THREATCOV_KUBE_APISERVER", apiserver, ErrBinaryMissing)
	}
	etcd = os.Getenv("THREATCOV_ETCD")
	if etcd == "" {
		etcd, err = exec.LookPath("etcd")
		if err != nil {
			return "", "", fmt.Errorf("etcd not on PATH: %w: run scripts/cluster-deps.sh or set THREATCOV_ETCD", ErrBinaryMissing)
		}
	} else if _, err := os.Stat(etcd); err != nil {
		return "", "", fmt.Errorf("etcd: THREATCOV_ETCD=%s: %w", etcd, ErrBinaryMissing)
	}
	return apiserver, etcd, nil
}

// moduleRoot finds the directory of the threatcov go.mod; go test runs in the package
// directory, somewhere below it.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/threatcov/threatcov\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no github.com/threatcov/threatcov go.mod above the working directory: %w", ErrBinaryMissing)
		}
		dir = parent
	}
}

// StartCluster starts etcd and kube-apiserver and returns once the API server's /readyz
// passes (RBAC bootstrap roles, admission plugins and CRD handling included). ctx bounds
// the startup only; the processes run until Stop. On error nothing is left running and the
// error carries the tail of the failing process's log.
func StartCluster(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("testcluster: Options.Dir is required")
	}
	if opts.APIServer == "" || opts.Etcd == "" {
		apiserver, etcd, err := FindBinaries()
		if err != nil {
			return nil, err
		}
		opts.APIServer, opts.Etcd = orDefault(opts.APIServer, apiserver), orDefault(opts.Etcd, etcd)
	}
	// Free ports are found by binding and closing, so another process can take one before
	// etcd or the API server binds it; a start that loses that race is tried again.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		dir := filepath.Join(opts.Dir, "attempt-"+strconv.Itoa(attempt))
		c, err := start(ctx, opts, dir)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var errPortTaken = errors.New("port taken")

func start(ctx context.Context, opts Options, dir string) (c *Cluster, err error) {
	begin := time.Now()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, securePort := ports[0], ports[1], ports[2]

	c = &Cluster{
		URL:          "https://127.0.0.1:" + strconv.Itoa(securePort),
		Dir:          dir,
		EtcdLog:      filepath.Join(dir, "etcd.log"),
		APIServerLog: filepath.Join(dir, "kube-apiserver.log"),
		tokens:       map[string]string{AdminUser: rand.Text(), LimitedUser: rand.Text()},
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()

	clientURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	c.etcd, err = startProcess(opts.Etcd, c.EtcdLog,
		"--name=threatcov-test",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=threatcov-test="+peerURL,
		"--initial-cluster-state=new",
		"--logger=zap",
		"--log-outputs=stderr",
	)
	if err != nil {
		return c, err
	}
	if err := c.etcd.waitReady(ctx, func(ctx context.Context) bool {
		return httpOK(ctx, http.DefaultClient, clientURL+"/health", `"health":"true"`)
	}); err != nil {
		return c, fmt.Errorf("etcd did not become healthy: %w", err)
	}

	pki, err := newPKI(dir, time.Now())
	if err != nil {
		return c, err
	}
	c.caPEM = pki.caPEM
	tokenFile := filepath.Join(dir, "tokens.csv")
	tokens := fmt.Sprintf("%s,%s,%s-uid,\"system:masters\"\n%s,%s,%s-uid\n",
		c.tokens[AdminUser], AdminUser, AdminUser, c.tokens[LimitedUser], LimitedUser, LimitedUser)
	if err := os.WriteFile(tokenFile, []byte(tokens), 0o600); err != nil {
		return c, err
	}

	args := []string{
		"--etcd-servers=" + clientURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(securePort),
		"--tls-cert-file=" + pki.servingCert,
		"--tls-private-key-file=" + pki.servingKey,
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--token-auth-file=" + tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki.serviceAccount,
		"--service-account-signing-key-file=" + pki.serviceAccount,
		"--service-cluster-ip-range=10.0.0.0/24",
		// No kubelet or Service endpoints exist; the default "lease" reconciler would
		// keep rewriting the kubernetes Service's endpoints for nothing.
		"--endpoint-reconciler-type=none",
		// Real clusters allow privileged pods and leave the refusal to admission policy,
		// which is what the tests measure.
		"--allow-privileged=true",
	}
	args = append(args, opts.ExtraAPIServerArgs...)
	c.api, err = startProcess(opts.APIServer, c.APIServerLog, args...)
	if err != nil {
		return c, err
	}

	c.Config = c.UserConfig(AdminUser)
	c.Client, err = kubernetes.NewForConfig(c.Config)
	if err != nil {
		return c, err
	}
	transport, err := rest.TransportFor(c.Config)
	if err != nil {
		return c, err
	}
	client := &http.Client{Transport: transport}
	if err := c.api.waitReady(ctx, func(ctx context.Context) bool {
		return httpOK(ctx, client, c.URL+"/readyz", "ok")
	}); err != nil {
		return c, fmt.Errorf("kube-apiserver did not become ready: %w", err)
	}

	c.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	c.LimitedKubeconfig = filepath.Join(dir, "limited.kubeconfig")
	if err := c.writeKubeconfig(c.Kubeconfig, AdminUser, "threatcov-test"); err != nil {
		return c, err
	}
	if err := c.writeKubeconfig(c.LimitedKubeconfig, LimitedUser, "threatcov-test-limited"); err != nil {
		return c, err
	}
	c.StartupTime = time.Since(begin)
	return c, nil
}

// UserConfig returns a client configuration authenticating as user (AdminUser or
// LimitedUser). Rate limits are raised so tests are not throttled client-side.
func (c *Cluster) UserConfig(user string) *rest.Config {
	return &rest.Config{
		Host:            c.URL,
		BearerToken:     c.tokens[user],
		TLSClientConfig: rest.TLSClientConfig{CAData: c.caPEM},
		QPS:             200,
		Burst:           400,
		UserAgent:       "threatcov-testcluster",
	}
}

func (c *Cluster) writeKubeconfig(path, user, context string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["threatcov-test"] = &clientcmdapi.Cluster{Server: c.URL, CertificateAuthorityData: c.caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: c.tokens[user]}
	cfg.Contexts[context] = &clientcmdapi.Context{Cluster: "threatcov-test", AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = context
	return clientcmd.WriteToFile(*cfg, path)
}

// CreateNamespace creates a namespace with labels and its `default` ServiceAccount, which
// the ServiceAccount admission plugin requires of every pod and which no controller creates
// here.
func (c *Cluster) CreateNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}
	if _, err := c.Client.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service account %s/default: %w", name, err)
	}
	return nil
}

// Stop kills the API server, then etcd, and waits for both to exit. Safe to call twice.
// The data is thrown away, so there is no graceful shutdown to wait for.
func (c *Cluster) Stop() {
	c.api.stop()
	c.etcd.stop()
}

// Logs returns the last lines of both processes' logs, for a failing test's output.
func (c *Cluster) Logs(lines int) string {
	var b strings.Builder
	for _, p := range []*process{c.etcd, c.api} {
		if p == nil {
			continue
		}
		fmt.Fprintf(&b, "---- last %d lines of %s ----\n%s", lines, p.log, tail(p.log, lines))
	}
	return b.String()
}

// process is one started binary whose output goes to a log file.
type process struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done closes
}

func startProcess(path, logPath string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	p := &process{name: filepath.Base(path), log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls ready until it holds, the process exits, or ctx ends.
func (p *process) waitReady(ctx context.Context, ready func(context.Context) bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(ctx) {
			return nil
		}
		select {
		case <-p.done:
			err := fmt.Errorf("%s exited: %v\n%s", p.name, p.err, tail(p.log, 40))
			if strings.Contains(tail(p.log, 200), "address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		case <-ctx.Done():
			return fmt.Errorf("%w\n%s", ctx.Err(), tail(p.log, 40))
		case <-tick.C:
		}
	}
}

func (p *process) stop() {
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// httpOK reports whether GET url answers 200 with a body containing want.
func httpOK(ctx context.Context, client *http.Client, url, want string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), want)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free loopback port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(%v)\n", err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
