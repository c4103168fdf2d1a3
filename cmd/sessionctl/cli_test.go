package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/session"
)

// runningDevnet is a `sessionctl devnet` run by a test, as a user runs it in a terminal.
type runningDevnet struct {
	info devnetInfo
	text string // what text mode printed (text devnets only)
	stop func()
}

// startDevnet runs `sessionctl devnet` with args until the test ends and returns what it printed.
func startDevnet(t *testing.T, asJSON bool, args ...string) *runningDevnet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	full := append([]string{"devnet", "-nodes", "8"}, args...)
	if asJSON {
		full = append(full, "-json")
	}
	go func() {
		done <- run(ctx, full, pw, io.Discard)
		pw.Close()
	}()
	d := &runningDevnet{}
	d.stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("devnet did not stop")
		}
	}
	t.Cleanup(d.stop)
	if asJSON {
		if err := json.NewDecoder(pr).Decode(&d.info); err != nil {
			t.Fatal(err)
		}
	} else {
		var b strings.Builder
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Press Ctrl-C") {
				break
			}
		}
		d.text = b.String()
	}
	go io.Copy(io.Discard, pr)
	return d
}

// ctl runs sessionctl with stdin and returns stdout, stderr and the exit code.
func ctl(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := runWithInput(ctx, args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// mustCtl runs sessionctl and fails the test unless it succeeds.
func mustCtl(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := ctl(t, "", args...)
	if code != 0 {
		t.Fatalf("sessionctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// decode parses the JSON output of a command into v.
func decode[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	return v
}

// newAccount creates an account in db and returns its ID.
func newAccount(t *testing.T, db string) string {
	t.Helper()
	return decode[accountJSON](t, mustCtl(t, "new", "-db", db, "-json")).AccountID
}

// listenUntil runs `listen -json` (every 100 ms) until an event satisfies want or 20 s pass.
func listenUntil(t *testing.T, want func(eventJSON) bool, args ...string) []eventJSON {
	t.Helper()
	var all []eventJSON
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out := mustCtl(t, append([]string{"listen", "-json", "-for", "1500ms", "-interval", "100ms"}, args...)...)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			e := decode[eventJSON](t, line)
			all = append(all, e)
			if want(e) {
				return all
			}
		}
	}
	t.Fatalf("listen %v: no matching event among %+v", args, all)
	return nil
}

// Item 5: `sessionctl devnet` writes a network file and prints the one line that connects to it;
// every command (and session.LoadNetworkConfig) then uses the devnet with no other flag.
func TestDevnetNetworkFileConnectsInOneLine(t *testing.T) {
	d := startDevnet(t, false)
	var envLine, seed, ca string
	for _, l := range strings.Split(d.text, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "export":
			envLine = f[1]
		case len(f) >= 2 && f[0] == "seed:":
			seed = f[1]
		case len(f) >= 2 && f[0] == "trust:":
			ca = f[1]
		}
	}
	name, path, ok := strings.Cut(envLine, "=")
	if !ok || name != session.EnvNetwork || seed == "" || ca == "" {
		t.Fatalf("devnet printed no export line, seed or CA:\n%s", d.text)
	}
	cfg, err := session.LoadNetworkConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Seeds) != 1 || cfg.Seeds[0] != seed || cfg.SeedRootCAs == nil || cfg.FileServer.URL.Host == "" || cfg.FileServerEd25519 == [32]byte{} {
		t.Fatalf("network file config %+v", cfg)
	}
	nf, err := session.LoadNetworkFile(path)
	if err != nil || len(nf.Communities) != 1 || nf.PathDiversity != "nodes" {
		t.Fatalf("network file %+v %v", nf, err)
	}

	dir := t.TempDir()
	alice, bob := filepath.Join(dir, "alice.db"), filepath.Join(dir, "bob.db")
	newAccount(t, alice)
	bobID := newAccount(t, bob)

	// The seed and CA as printed, pasted into -seed and -ca; the seed's JSON-RPC URL works too.
	for _, s := range []string{seed, seed + "/json_rpc", seed + "/"} {
		out := mustCtl(t, "swarm", "-seed", s, "-ca", ca, bobID)
		if !strings.HasPrefix(out, "swarm ") {
			t.Fatalf("swarm with -seed %s: %q", s, out)
		}
	}

	// One line: the environment variable alone.
	t.Setenv(session.EnvNetwork, path)
	mustCtl(t, "send", "-db", alice, "-to", bobID, "hello", "over", "the", "network", "file")
	listenUntil(t, func(e eventJSON) bool { return e.Type == "message" && e.Text == "hello over the network file" }, "-db", bob)
}

// Item 8: SESSIONGO_* variables give the flags their defaults; a flag wins over its variable.
func TestEnvironmentDefaults(t *testing.T) {
	d := startDevnet(t, true, "-servers=false")
	dir := t.TempDir()
	alice, bob := filepath.Join(dir, "alice.db"), filepath.Join(dir, "bob.db")
	newAccount(t, alice)
	bobID := newAccount(t, bob)
	t.Setenv(envSeed, d.info.SeedURL)
	t.Setenv(envCA, d.info.CACert)
	t.Setenv(envDB, alice)
	res := decode[sentJSON](t, mustCtl(t, "send", "-json", "-to", bobID, "from", "the", "environment"))
	if res.To != bobID || res.Stored == 0 || res.TimestampMs == 0 {
		t.Fatalf("send: %+v", res)
	}
	// -db on the command line wins over SESSIONGO_DB.
	listenUntil(t, func(e eventJSON) bool { return e.Type == "message" && e.Text == "from the environment" }, "-db", bob)
	t.Setenv(envAccount, bobID)
	if _, errs, code := ctl(t, "", "send", "-to", bobID, "x"); code != 1 || !strings.Contains(errs, "-account "+bobID+" is not in "+alice) {
		t.Fatalf("SESSIONGO_ACCOUNT not in the file: %d %s", code, errs)
	}
	// A seed that is not a URL is a usage error.
	t.Setenv(envSeed, "127.0.0.1:1")
	if _, errs, code := ctl(t, "", "swarm", bobID); code != 2 || !strings.Contains(errs, "want a URL") {
		t.Fatalf("bad SESSIONGO_SEED: %d %s", code, errs)
	}
}

// Item 8: every command prints JSON with -json, including its errors.
func TestJSONOnEveryCommand(t *testing.T) {
	d := startDevnet(t, true)
	t.Setenv(session.EnvNetwork, d.info.NetworkFile)
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	a := decode[accountJSON](t, mustCtl(t, "new", "-db", db, "-name", "alice", "-json"))
	if a.Name != "alice" || len(strings.Fields(a.RecoveryPassword)) != 13 {
		t.Fatalf("new: %+v", a)
	}
	ids := decode[[]accountJSON](t, mustCtl(t, "id", "-db", db, "-json"))
	if len(ids) != 1 || ids[0].AccountID != a.AccountID || ids[0].RecoveryPassword != "" {
		t.Fatalf("id: %+v", ids)
	}
	bl := decode[map[string]any](t, mustCtl(t, "blind", "-json", "-server-pk", strings.Repeat("ab", 32), a.AccountID))
	if len(bl["blinded15"].([]any)) != 2 || !strings.HasPrefix(bl["blinded25"].(string), "25") {
		t.Fatalf("blind: %v", bl)
	}
	sw := decode[map[string]any](t, mustCtl(t, "swarm", "-json", a.AccountID))
	if len(sw["nodes"].([]any)) == 0 {
		t.Fatalf("swarm: %v", sw)
	}
	g := decode[groupJSON](t, mustCtl(t, "group", "create", "-db", db, "-json", "Team"))
	if !strings.HasPrefix(g.ID, "03") || g.Name != "Team" || !g.Admin {
		t.Fatalf("group create: %+v", g)
	}
	if gl := decode[[]groupJSON](t, mustCtl(t, "group", "list", "-db", db, "-json")); len(gl) != 1 || gl[0].ID != g.ID {
		t.Fatalf("group list: %+v", gl)
	}
	if cl := decode[[]string](t, mustCtl(t, "community", "list", "-db", db, "-json")); len(cl) != 0 {
		t.Fatalf("community list: %v", cl)
	}
	// A failure is a JSON object on stderr.
	_, errs, code := ctl(t, "", "resolve", "-json", "nobody-has-this-name")
	var e struct {
		Command, Error string
		Exit           int
	}
	if code != 1 || json.Unmarshal([]byte(errs), &e) != nil || e.Command != "resolve" || e.Exit != 1 || e.Error == "" {
		t.Fatalf("resolve failure: %d %q", code, errs)
	}
	// Every command has -json.
	for name := range commands {
		if name == "group" || name == "community" {
			continue
		}
		_, errs, code := ctl(t, "", name, "-h")
		if code != 0 || !strings.Contains(errs, "-json") {
			t.Errorf("%s -h: %d, no -json in\n%s", name, code, errs)
		}
	}
	for _, sub := range []string{"group create", "community send"} {
		_, errs, _ := ctl(t, "", append(strings.Fields(sub), "-h")...)
		if !strings.Contains(errs, "-json") {
			t.Errorf("%s -h: no -json in\n%s", sub, errs)
		}
	}
}

// Item 8: import an existing account from its Recovery Password, read from standard input.
func TestImport(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	a := decode[accountJSON](t, mustCtl(t, "new", "-db", src, "-json"))
	out, errs, code := ctl(t, "  "+a.RecoveryPassword+"\n", "import", "-db", dst, "-name", "restored", "-json")
	if code != 0 {
		t.Fatalf("import: %d %s", code, errs)
	}
	if got := decode[accountJSON](t, out); got.AccountID != a.AccountID || got.Existed {
		t.Fatalf("import: %+v", got)
	}
	ids := decode[[]accountJSON](t, mustCtl(t, "id", "-db", dst, "-json", "-password"))
	if len(ids) != 1 || ids[0].AccountID != a.AccountID || ids[0].Name != "restored" || ids[0].RecoveryPassword != a.RecoveryPassword {
		t.Fatalf("id after import: %+v", ids)
	}
	// Again: nothing changes.
	out, _, code = ctl(t, a.RecoveryPassword, "import", "-db", dst)
	if code != 0 || !strings.Contains(out, "already in") {
		t.Fatalf("second import: %d %q", code, out)
	}
	// From a file.
	pwFile := filepath.Join(dir, "pw.txt")
	if err := os.WriteFile(pwFile, []byte(a.RecoveryPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errs, code := ctl(t, "", "import", "-db", filepath.Join(dir, "f.db"), "-password-file", pwFile); code != 0 || !strings.Contains(out, a.AccountID) {
		t.Fatalf("import -password-file: %d %s %s", code, out, errs)
	}
	words := strings.Fields(a.RecoveryPassword)
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"", nil, 2, "no Recovery Password"},
		{strings.Join(words[:12], " "), nil, 1, "13 words"},
		{strings.Join(append(words[:12], "notaword"), " "), nil, 1, "not a valid Recovery Password"},
		{"", words, 2, "not from arguments"},
	} {
		_, errs, code := ctl(t, tc.stdin, append([]string{"import", "-db", dst}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("import %q %v: %d %s (want %d, %q)", tc.stdin, tc.args, code, errs, tc.code, tc.want)
		}
	}
}

// Items 6 and 7 in the CLI: clear errors, in the tool's own terms.
func TestClearErrors(t *testing.T) {
	d := startDevnet(t, true, "-servers=false")
	t.Setenv(envSeed, d.info.SeedURL)
	t.Setenv(envCA, d.info.CACert)
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	alice := newAccount(t, db)

	// A mistyped Account ID is reported as one, not as a failed name lookup.
	for _, bad := range []string{alice[:65], alice + "0", "05" + strings.Repeat("zz", 32), "15" + alice[2:]} {
		_, errs, code := ctl(t, "", "send", "-db", db, "-to", bad, "hi")
		if code != 2 || !strings.Contains(errs, "Account ID") || strings.Contains(errs, "sns") {
			t.Errorf("-to %s: %d %s", bad, code, errs)
		}
	}
	// A name that does not resolve says so, and what an Account ID looks like.
	if _, errs, code := ctl(t, "", "send", "-db", db, "-to", "nosuchname", "hi"); code != 1 || !strings.Contains(errs, "not an Account ID") || !strings.Contains(errs, "name lookup failed") {
		t.Errorf("-to nosuchname: %d %s", code, errs)
	}
	// Several accounts: the advice is -account, not the Go option.
	newAccount(t, db)
	_, errs, code := ctl(t, "", "send", "-db", db, "-to", alice, "hi")
	if code != 1 || !strings.Contains(errs, "-account") || strings.Contains(errs, "WithAccount") {
		t.Errorf("two accounts: %d %s", code, errs)
	}
	if !strings.Contains(explain(session.ErrAmbiguousAccount, db).Error(), "-account") {
		t.Error("ErrAmbiguousAccount not explained")
	}
	// A database in a missing directory.
	_, errs, code = ctl(t, "", "new", "-db", filepath.Join(dir, "missing", "x.db"))
	if code != 1 || !strings.Contains(errs, "does not exist") || strings.Contains(errs, "out of memory") {
		t.Errorf("missing directory: %d %s", code, errs)
	}
	// Empty, blank and invalid UTF-8 texts are refused before anything is sent.
	for _, text := range [][]string{{""}, {" ", "\t"}, {"\xff\xfe"}, {"-"}} {
		_, errs, code := ctl(t, "", append([]string{"send", "-db", db, "-account", alice, "-to", alice}, text...)...)
		if code != 2 || !(strings.Contains(errs, "empty") || strings.Contains(errs, "UTF-8")) {
			t.Errorf("send %q: %d %s", text, code, errs)
		}
	}
	// Text from standard input.
	out, errs, code := ctl(t, "from stdin\n", "send", "-db", db, "-account", alice, "-to", alice, "-json", "-")
	if code != 0 || decode[sentJSON](t, out).Stored == 0 {
		t.Errorf("send -: %d %s %s", code, out, errs)
	}
}

// Item 8: files (with upload progress), groups and communities from the command line.
func TestAttachGroupCommunity(t *testing.T) {
	d := startDevnet(t, true)
	t.Setenv(session.EnvNetwork, d.info.NetworkFile)
	dir := t.TempDir()
	aliceDB, bobDB := filepath.Join(dir, "alice.db"), filepath.Join(dir, "bob.db")
	alice, bob := newAccount(t, aliceDB), newAccount(t, bobDB)

	// A file to Bob, with progress; Bob's listen saves it.
	data := bytes.Repeat([]byte("sessiongo attachment\n"), 5000)
	file := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := ctl(t, "", "attach", "-db", aliceDB, "-to", bob, "-text", "the notes", file)
	if code != 0 || !strings.Contains(out, "sent 1 file(s) to "+bob) {
		t.Fatalf("attach: %d %s %s", code, out, errs)
	}
	for _, want := range []string{"% (65536 of 105000 bytes)", "notes.txt: read 105000 bytes", "notes.txt: uploading", "notes.txt: sent"} {
		if !strings.Contains(errs, want) {
			t.Errorf("attach progress lacks %q:\n%s", want, errs)
		}
	}
	saveDir := t.TempDir()
	evs := listenUntil(t, func(e eventJSON) bool { return e.Type == "message" && e.Text == "the notes" }, "-db", bobDB, "-download", saveDir)
	m := evs[len(evs)-1]
	if len(m.Attachments) != 1 || m.Attachments[0].FileName != "notes.txt" || m.Attachments[0].ContentType != "text/plain; charset=utf-8" || m.Attachments[0].Saved == "" {
		t.Fatalf("received attachment %+v", m.Attachments)
	}
	if got, err := os.ReadFile(m.Attachments[0].Saved); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("saved attachment differs (%v)", err)
	}
	// JSON progress.
	_, errs, code = ctl(t, "", "attach", "-db", aliceDB, "-to", bob, "-json", file)
	if code != 0 || !strings.Contains(errs, `{"progress":{"file":"notes.txt","stage":"read","done":105000,"total":105000}}`) {
		t.Fatalf("attach -json progress: %d %s", code, errs)
	}

	// A group: Alice creates it with Bob; Bob receives the invitation, accepts, joins; Alice
	// sends text and a file; Bob reads both.
	g := decode[groupJSON](t, mustCtl(t, "group", "create", "-db", aliceDB, "-json", "Friends", bob))
	if len(g.Members) != 2 {
		t.Fatalf("group create: %+v", g)
	}
	listenUntil(t, func(e eventJSON) bool { return e.Type == "group_invite" && e.Group == g.ID && e.From == alice }, "-db", bobDB)
	mustCtl(t, "group", "accept", "-db", bobDB, g.ID)
	listenUntil(t, func(e eventJSON) bool { return e.Type == "group_joined" && e.Group == g.ID }, "-db", bobDB)
	mustCtl(t, "group", "send", "-db", aliceDB, g.ID, "hello", "friends")
	mustCtl(t, "attach", "-db", aliceDB, "-group", g.ID, "-quiet", file)
	var gotText, gotFile bool
	listenUntil(t, func(e eventJSON) bool {
		gotText = gotText || (e.Type == "group_message" && e.Group == g.ID && e.Text == "hello friends")
		gotFile = gotFile || (e.Type == "group_message" && e.Group == g.ID && len(e.Attachments) == 1)
		return gotText && gotFile
	}, "-db", bobDB)
	info := decode[groupJSON](t, mustCtl(t, "group", "info", "-db", bobDB, "-json", g.ID))
	if info.Status != "joined" || info.Admin {
		t.Fatalf("group info: %+v", info)
	}

	// The devnet's community room (the network file's first room): join, post, react, read.
	mustCtl(t, "community", "join", "-db", aliceDB)
	mustCtl(t, "community", "join", "-db", bobDB)
	posted := decode[sentJSON](t, mustCtl(t, "community", "send", "-db", aliceDB, "-json", "hi", "room"))
	mustCtl(t, "community", "react", "-db", bobDB, fmt.Sprint(posted.ID), "👍")
	mustCtl(t, "attach", "-db", aliceDB, "-community", d.info.Community.JoinURL, "-text", "room file", file)
	var gotPost, gotRoomFile bool
	listenUntil(t, func(e eventJSON) bool {
		gotPost = gotPost || (e.Type == "community_message" && e.ID == posted.ID && e.Text == "hi room")
		gotRoomFile = gotRoomFile || (e.Type == "community_message" && e.Text == "room file" && len(e.Attachments) == 1)
		return gotPost && gotRoomFile
	}, "-db", bobDB)
	if rooms := decode[[]string](t, mustCtl(t, "community", "list", "-db", bobDB, "-json")); len(rooms) != 1 {
		t.Fatalf("community list: %v", rooms)
	}
	mustCtl(t, "community", "leave", "-db", bobDB)
	// Usage errors of the actions.
	if _, errs, code := ctl(t, "", "group", "bogus"); code != 2 || !strings.Contains(errs, "unknown action") {
		t.Errorf("group bogus: %d %s", code, errs)
	}
	if _, errs, code := ctl(t, "", "attach", "-db", aliceDB, "-to", bob, "-group", g.ID, file); code != 2 || !strings.Contains(errs, "exactly one") {
		t.Errorf("attach with two targets: %d %s", code, errs)
	}
}
