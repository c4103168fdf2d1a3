//go:build !unix

package session_test

import (
	"errors"
	"runtime"
	"time"
)

// processCPU needs getrusage; on other systems BenchmarkClientCPUPerMessage fails with this.
func processCPU() (time.Duration, error) {
	return 0, errors.New("process CPU time is not available on " + runtime.GOOS)
}
