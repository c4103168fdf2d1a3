package session_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
)

// The benchmarks that measure the client alone (its CPU, heap and goroutines) run the devnet in
// a child process: this test binary run again with childDevnetEnv set, where TestChildDevnet
// serves a devnet until its standard input closes (the parent ended or closed the pipe).

const childDevnetEnv = "SESSIONGO_CHILD_DEVNET"

// childDevnetLine prefixes the line with the connection details the child prints.
const childDevnetLine = "child-devnet "

type childDevnetInfo struct {
	Seed string `json:"seed"`
	CA   string `json:"ca_pem"`
}

// childDevnet is a devnet running in a child process.
type childDevnet struct {
	seed  string
	roots *x509.CertPool
}

// config reaches the child devnet through onion paths of distinct nodes, or directly.
func (d *childDevnet) config(direct bool) session.NetworkConfig {
	return session.NetworkConfig{Seeds: []string{d.seed}, SeedRootCAs: d.roots, Direct: direct,
		PathDiversity: onion.DistinctNodes}
}

// startChildDevnet starts a devnet in a child process, stopped by tb's cleanup.
func startChildDevnet(tb testing.TB) *childDevnet {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildDevnet$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), childDevnetEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	lines := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if strings.HasPrefix(line, childDevnetLine) {
				lines <- strings.TrimPrefix(line, childDevnetLine)
			}
			if err != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() {
		stdin.Close() // the child stops its devnet and exits
		select {
		case <-drained:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-drained
		}
		_ = cmd.Wait()
	})
	var info childDevnetInfo
	select {
	case line := <-lines:
		if err := json.Unmarshal([]byte(line), &info); err != nil {
			tb.Fatalf("child devnet: %v in %q", err, line)
		}
	case <-drained:
		tb.Fatalf("child devnet ended before it was ready: %s", stderr.String())
	case <-time.After(time.Minute):
		tb.Fatalf("child devnet not ready after a minute: %s", stderr.String())
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(info.CA)) {
		tb.Fatal("child devnet: no CA certificate")
	}
	return &childDevnet{seed: info.Seed, roots: roots}
}

// TestChildDevnet is the child's devnet when childDevnetEnv is set; otherwise it checks the
// helper: the child starts, serves a client's poll, and stops when the parent closes the pipe.
func TestChildDevnet(t *testing.T) {
	if os.Getenv(childDevnetEnv) != "" {
		serveChildDevnet(t)
		return
	}
	d := startChildDevnet(t)
	c, _ := session.NewTestClient(t, session.WithNetworkConfig(d.config(true)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
}

func serveChildDevnet(t *testing.T) {
	dn := devnettest.Start(t)
	b, err := json.Marshal(childDevnetInfo{Seed: dn.SeedURL(), CA: string(dn.CACertPEM())})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s%s\n", childDevnetLine, b)
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes the pipe or ends
}
