package sdk_test

// TestVectors runs every case of every vector file through the public API, as the corpus's
// README (testdata/vectors/README.md) describes. Each area registers its handlers from its own
// vectors_<area>_test.go file; ops that are not implemented yet are listed in skipOps with the
// reason. An op that is neither handled nor listed fails the test.

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// skipOps lists the ops that the SDK does not implement yet, with the reason. It shrinks to
// nothing as the SDK grows.
var skipOps = map[string]string{
	// identity.json
	// sogs.json
	// onion_swarm.json and storage.json
	// groups.json and libsession_generated.json
}

// vectorHandler checks one case of an op. Ops with the same name in different files may use
// different field names; handlers accept every spelling through vcase's multi-key getters.
type vectorHandler func(t *testing.T, c vcase)

// vectorHandlers is filled by the init functions of the vectors_<area>_test.go files.
var vectorHandlers = map[string]vectorHandler{}

func registerVectors(op string, h vectorHandler) {
	if _, dup := vectorHandlers[op]; dup {
		panic("vectors: op registered twice: " + op)
	}
	vectorHandlers[op] = h
}

type vectorGroup struct {
	Op         string                       `json:"op"`
	Provenance string                       `json:"provenance"`
	Source     string                       `json:"source"`
	Cases      []map[string]json.RawMessage `json:"cases"`
}

func vectorsDir() (string, bool) {
	if d := os.Getenv("SESSIONGO_VECTORS_DIR"); d != "" {
		return d, true
	}
	return filepath.Join("testdata", "vectors"), false
}

func TestVectors(t *testing.T) {
	dir, external := vectorsDir()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no vector files in %s", dir)
	}
	sort.Strings(files)
	var nOps, passed int
	skipped := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var groups []vectorGroup
		if err := json.Unmarshal(raw, &groups); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		base := filepath.Base(f)
		for _, g := range groups {
			nOps++
			h, ok := vectorHandlers[g.Op]
			if !ok {
				if _, listed := skipOps[g.Op]; listed {
					skipped[g.Op] = true
					continue
				}
				t.Errorf("%s: op %q is neither implemented nor listed in skipOps", base, g.Op)
				continue
			}
			if reason, listed := skipOps[g.Op]; listed && !external {
				t.Errorf("op %q is implemented but still listed in skipOps (%s)", g.Op, reason)
			}
			for i, c := range g.Cases {
				c := c
				name := base + "/" + g.Op + "/" + strconv.Itoa(i)
				if t.Run(name, func(t *testing.T) { h(t, vcase{t: t, m: c, provenance: g.Provenance}) }) {
					passed++
				}
			}
		}
	}
	t.Logf("vectors: %d files, %d ops, %d cases passed, %d ops skipped", len(files), nOps, passed, len(skipped))
}

// vcase gives typed access to one case's fields. Getters take several names and use the first
// one present, so one handler serves every spelling of a field across the files.
type vcase struct {
	t          *testing.T
	m          map[string]json.RawMessage
	provenance string
}

func (c vcase) has(key string) bool {
	v, ok := c.m[key]
	return ok && string(v) != "null"
}

func (c vcase) raw(keys ...string) json.RawMessage {
	c.t.Helper()
	for _, k := range keys {
		if c.has(k) {
			return c.m[k]
		}
	}
	c.t.Fatalf("case has none of the fields %v", keys)
	return nil
}

func (c vcase) decode(v any, keys ...string) {
	c.t.Helper()
	if err := json.Unmarshal(c.raw(keys...), v); err != nil {
		c.t.Fatalf("field %v: %v", keys, err)
	}
}

func (c vcase) str(keys ...string) string {
	c.t.Helper()
	var s string
	c.decode(&s, keys...)
	return s
}

func (c vcase) hex(keys ...string) []byte {
	c.t.Helper()
	b, err := hex.DecodeString(c.str(keys...))
	if err != nil {
		c.t.Fatalf("field %v: %v", keys, err)
	}
	return b
}

func (c vcase) b64(keys ...string) []byte {
	c.t.Helper()
	s := c.str(keys...)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	c.t.Fatalf("field %v: not base64: %q", keys, s)
	return nil
}

// int reads a JSON number or a decimal string.
func (c vcase) int(keys ...string) int64 {
	c.t.Helper()
	r := strings.Trim(string(c.raw(keys...)), `"`)
	n, ok := new(big.Int).SetString(r, 10)
	if !ok || !n.IsInt64() {
		c.t.Fatalf("field %v: not an integer: %s", keys, r)
	}
	return n.Int64()
}

func (c vcase) uint(keys ...string) uint64 {
	c.t.Helper()
	r := strings.Trim(string(c.raw(keys...)), `"`)
	n, err := strconv.ParseUint(r, 10, 64)
	if err != nil {
		c.t.Fatalf("field %v: not an unsigned integer: %s", keys, r)
	}
	return n
}

func (c vcase) boolean(keys ...string) bool {
	c.t.Helper()
	var b bool
	c.decode(&b, keys...)
	return b
}

func fixed32(t *testing.T, b []byte) [32]byte {
	t.Helper()
	if len(b) != 32 {
		t.Fatalf("want 32 bytes, got %d", len(b))
	}
	return [32]byte(b)
}
