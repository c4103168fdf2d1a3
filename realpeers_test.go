package sdk_test

// TestRealPeers replays what real Session software sent and answered (testdata/real, a copy of
// ../shared/real; or the directory named by SESSIONGO_REAL_DIR) through the SDK's own parsers and
// request builders. Subtests are TestRealPeers/<file base name>/<case>, one leaf per transcript
// line or stored client message. keys.json and README.md are companions, not cases; any other file
// kind that no runner claims fails the test, so a new recording cannot be silently ignored.
//
// The runners live in realpeers_<kind>_test.go: storage server transcripts, community server
// transcripts, and client corpora.

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/internal/realpeers"
)

// realRunner replays one recording file; its keys.json companion, if any, is beside it.
type realRunner func(t *testing.T, path string)

// realRunners picks the runner for a file by the folder it is in and its extension.
var realRunners = map[string]realRunner{
	"storage/.jsonl": runStorageTranscript,
	"sogs/.jsonl":    runSogsTranscript,
	"clients/.json":  runClientCorpus,
}

func TestRealPeers(t *testing.T) {
	dir := realpeers.Dir(".")
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	ran := 0
	for _, p := range files {
		base := filepath.Base(p)
		if base == "keys.json" || base == "README.md" {
			continue
		}
		kind := filepath.Base(filepath.Dir(p)) + "/" + filepath.Ext(p)
		run, ok := realRunners[kind]
		if !ok {
			t.Errorf("%s: no runner for recordings of kind %q (folder/extension); add one to realRunners", p, kind)
			continue
		}
		ran++
		name := strings.TrimSuffix(base, filepath.Ext(base))
		t.Run(name, func(t *testing.T) { run(t, p) })
	}
	if ran == 0 {
		t.Fatalf("no recordings in %s", dir)
	}
}

// realCaseName makes a transcript line's subtest name: its 1-based line number, then its case.
func realCaseName(line int, c string) string {
	return fmt.Sprintf("%03d %s", line, c)
}
