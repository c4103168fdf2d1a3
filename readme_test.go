package sdk_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's bot is a whole program that compiles against this module and shuts down cleanly:
// it checks Run's error instead of passing its nil to log.Fatal, and prints poll errors. Its
// set-up section has exactly the two commands of a fresh clone.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("README has no Go example")
	}
	src := blocks[0][1]
	for _, bad := range []string{"log.Fatal(client.Run(", "log.Fatal(c.Run("} {
		if strings.Contains(src, bad) {
			t.Errorf("README example passes Run's error to log.Fatal unchecked (%s): a clean shutdown prints <nil>", bad)
		}
	}
	for _, want := range []string{"package main", "if err := client.Run(ctx); err != nil", "*session.PollError"} {
		if !strings.Contains(src, want) {
			t.Errorf("README example lacks %q", want)
		}
	}
	setup := regexp.MustCompile("(?s)## The two commands.*?```\n(.*?)```").FindStringSubmatch(string(readme))
	if setup == nil {
		t.Fatal("README has no set-up commands")
	}
	var cmds []string
	for _, l := range strings.Split(strings.TrimSpace(setup[1]), "\n") {
		cmds = append(cmds, strings.TrimSpace(strings.SplitN(l, "#", 2)[0]))
	}
	if strings.Join(cmds, "|") != "go run ./examples/quickstart|go test ./..." {
		t.Errorf("set-up commands %q", cmds)
	}

	// Type-check the example as a program of its own that uses this module.
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goMod := "module readmebot\n\ngo 1.26\n\nrequire github.com/sessiongo/sdk v0.0.0\n\nreplace github.com/sessiongo/sdk => " + root + "\n"
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(goMod), "go.sum": sum, "main.go": []byte(src)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "vet", ".")
	cmd.Dir = dir
	// Offline: every module is in the cache already (this test's own build needed them).
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README example does not compile: %v\n%s", err, out)
	}
}
