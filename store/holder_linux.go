package store

import (
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
)

var machineOnce = sync.OnceValue(func() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid") // "pid:[4026531836]"
	if err != nil {
		return ""
	}
	ns = strings.TrimSuffix(strings.TrimPrefix(ns, "pid:["), "]")
	b := strings.ReplaceAll(strings.TrimSpace(string(boot)), "-", "")
	if b == "" || ns == "" || strings.ContainsAny(b+ns, "/") {
		return ""
	}
	return b + "." + ns
})

func machineID() string { return machineOnce() }

// processGone: signal 0 checks existence without sending anything; only ESRCH means "no such
// process" (EPERM means it exists under another user).
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
