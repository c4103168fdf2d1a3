// Package realpeers reads the recordings of real peers in testdata/real (see its README.md):
// transcripts of the real storage server and of the real community server (pysogs), one JSON
// exchange a line, and their keys.json. The tests that replay them read them here: the SDK's
// (TestRealPeers) and devnet's conformance tests. It only parses; what a line means is for each
// test to say.
package realpeers

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvDir names the environment variable that points at another copy of the recordings (such as
// ../shared/real).
const EnvDir = "SESSIONGO_REAL_DIR"

// Dir is the directory of the recordings: $SESSIONGO_REAL_DIR, else testdata/real under root
// (the module's root, relative to the test's package).
func Dir(root string) string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return filepath.Join(root, "testdata", "real")
}

// maxLine bounds one line of a transcript (a pysogs reply can carry a 4 KiB file in base64 and
// a storage reply many messages).
const maxLine = 64 << 20

// ReadLines reads a transcript: one JSON object a line, each decoded into a T. A line that does
// not decode, or a file without lines, is an error.
func ReadLines[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, maxLine)
	for sc.Scan() {
		var l T
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("realpeers: %s: line %d: %w", path, len(out)+1, err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("realpeers: %s: after line %d: %w", path, len(out), err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("realpeers: %s: %w", path, ErrEmpty)
	}
	return out, nil
}

// ErrEmpty is the error of a transcript without lines.
var ErrEmpty = errors.New("empty transcript")

// readJSON decodes the JSON file at path into a T.
func readJSON[T any](path string) (*T, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("realpeers: %s: %w", path, err)
	}
	return &v, nil
}

// Get walks path into a JSON value decoded into any: a string indexes an object, an int an
// array. A step that does not apply gives nil.
func Get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k < 0 || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}
