//go:build !linux

package store

// Elsewhere the SDK cannot identify this machine's boot and process namespace, so HolderGone
// always answers false and a dead holder's lease is taken after its TTL.
func machineID() string { return "" }

func processGone(pid int) bool { return false }
