//go:build !linux

package testcluster

import "syscall"

// sysProcAttr: only Linux can tie a child's life to its parent's; elsewhere a killed test
// binary can leave etcd and kube-apiserver running.
func sysProcAttr() *syscall.SysProcAttr { return nil }
