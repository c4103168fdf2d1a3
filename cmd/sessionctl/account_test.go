package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
)

func sessionctl(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

var accountIDRe = regexp.MustCompile(`05[0-9a-f]{64}`)

func TestAccountCommandsOnDevnet(t *testing.T) {
	dn := devnettest.Start(t, devnet.WithNodes(12))
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, dn.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	net := []string{"-seed", dn.SeedURL(), "-ca", ca}
	aliceDB, bobDB := filepath.Join(dir, "alice.db"), filepath.Join(dir, "bob.db")

	out, errs, code := sessionctl(t, "new", "-db", aliceDB, "-name", "alice")
	if code != 0 || !strings.Contains(out, "Recovery Password:") {
		t.Fatalf("new: %d %s %s", code, out, errs)
	}
	alice := accountIDRe.FindString(out)
	out, _, _ = sessionctl(t, "new", "-db", bobDB)
	bob := accountIDRe.FindString(out)
	if alice == "" || bob == "" {
		t.Fatal("no Account IDs printed")
	}
	out, _, code = sessionctl(t, "id", "-db", aliceDB, "-password")
	if code != 0 || !strings.Contains(out, alice) || !strings.Contains(out, "alice") || len(strings.Fields(out)) < 15 {
		t.Fatalf("id: %q", out)
	}
	if _, errs, code := sessionctl(t, "id", "-db", filepath.Join(dir, "none.db")); code != 1 || !strings.Contains(errs, "sessionctl new") {
		t.Fatalf("id without file: %d %s", code, errs)
	}

	out, _, code = sessionctl(t, "blind", "-server-pk", strings.Repeat("ab", 32), alice)
	if code != 0 || !regexp.MustCompile(`15[0-9a-f]{64}`).MatchString(out) || !regexp.MustCompile(`25[0-9a-f]{64}`).MatchString(out) {
		t.Fatalf("blind: %q", out)
	}
	if _, _, code := sessionctl(t, "blind", "-server-pk", "zz", alice); code != 2 {
		t.Fatalf("blind with a bad key: %d", code)
	}

	out, errs, code = sessionctl(t, append(append([]string{"swarm"}, net...), bob)...)
	swarmID, _ := dn.SwarmFor(mustID(t, bob))
	if code != 0 || !strings.Contains(out, fmt.Sprintf("swarm %016x", swarmID)) {
		t.Fatalf("swarm: %d %q %s", code, out, errs)
	}

	if err := dn.RegisterName("bobby", bob); err != nil {
		t.Fatal(err)
	}
	out, errs, code = sessionctl(t, append(append([]string{"resolve"}, net...), "bobby")...)
	if code != 0 || strings.TrimSpace(out) != bob {
		t.Fatalf("resolve: %d %q %s", code, out, errs)
	}

	// Send by name, then listen as Bob.
	out, errs, code = sessionctl(t, append(append([]string{"send", "-db", aliceDB}, net...), "-to", "bobby", "hello", "from", "the", "CLI")...)
	if code != 0 || !strings.Contains(out, "sent to "+bob) {
		t.Fatalf("send: %d %q %s", code, out, errs)
	}
	out, errs, code = sessionctl(t, append([]string{"listen", "-db", bobDB, "-for", "2s", "-interval", "100ms"}, net...)...)
	if code != 0 || !strings.Contains(out, alice+": hello from the CLI") {
		t.Fatalf("listen: %d %q %s", code, out, errs)
	}
	if _, errs, code := sessionctl(t, "send", "-db", aliceDB, "hello"); code != 2 || !strings.Contains(errs, "-to") {
		t.Fatalf("send without -to: %d %s", code, errs)
	}
}

func mustID(t *testing.T, s string) [33]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 33 {
		t.Fatalf("bad id %q", s)
	}
	return [33]byte(b)
}
