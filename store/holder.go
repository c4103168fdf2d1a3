package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// NewHolderID returns a lease holder identity for this process that no other process, on this
// machine or another, can share: "host/pid/random/machine", where machine identifies this boot
// of this machine and its process namespace (on Linux), so that HolderGone can tell a holder
// that died here.
func NewHolderID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	host = strings.ReplaceAll(host, "/", "_")
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s/%d/%s/%s", host, os.Getpid(), hex.EncodeToString(r[:]), machineID())
}

// DescribeHolder names a holder for people: "process 1234 on host" for an identity made by
// NewHolderID, the holder as given otherwise.
func DescribeHolder(holder string) string {
	p := strings.Split(holder, "/")
	if len(p) != 4 {
		return strconv.Quote(holder)
	}
	if _, err := strconv.Atoi(p[1]); err != nil {
		return strconv.Quote(holder)
	}
	return fmt.Sprintf("process %s on %s (holder %s)", p[1], p[0], holder)
}

// HolderGone reports whether holder is certainly a process of this machine (same boot, same
// process namespace) that no longer runs, so that its lease may be taken at once instead of
// after its TTL (LeaseRequest.Replace). It answers false whenever it cannot be sure: another
// machine, another namespace, a holder not made by NewHolderID, a system without the means to
// check, or a process ID in use (even by another program).
func HolderGone(holder string) bool {
	p := strings.Split(holder, "/")
	if len(p) != 4 {
		return false
	}
	me := machineID()
	if me == "" || p[3] != me {
		return false
	}
	pid, err := strconv.Atoi(p[1])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		// This process: the holder is gone only if it was another identity of ours, which
		// this process cannot tell; say no.
		return false
	}
	return processGone(pid)
}
