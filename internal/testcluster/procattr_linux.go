package testcluster

import "syscall"

// sysProcAttr makes the kernel kill etcd and the API server when the test binary dies
// without running its cleanups, as it does when go test's -timeout panics.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
