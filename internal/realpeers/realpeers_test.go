package realpeers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadLines(t *testing.T) {
	type line struct {
		Case   string `json:"case"`
		Status int    `json:"status"`
	}
	for _, c := range []struct {
		name, file string
		want       []line
		err        string // a part of the error; "" for none
	}{
		{"two lines", `{"case":"a","status":200}` + "\n" + `{"case":"b","status":421}` + "\n", []line{{"a", 200}, {"b", 421}}, ""},
		{"no final newline", `{"case":"a","status":200}`, []line{{"a", 200}}, ""},
		{"empty", "", nil, "empty transcript"},
		{"not JSON", `{"case":"a"}` + "\n" + "case: b\n", nil, "line 2"},
		{"wrong type", `{"case":1}`, nil, "line 1"},
		{"blank line", `{"case":"a"}` + "\n\n", nil, "line 2"},
		{"line too long", `{"case":"` + strings.Repeat("x", maxLine) + `"}`, nil, "after line 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.jsonl")
			if err := os.WriteFile(path, []byte(c.file), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadLines[line](path)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("%d lines, want %d", len(got), len(c.want))
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("line %d: %+v, want %+v", i+1, got[i], c.want[i])
				}
			}
		})
	}
	if _, err := ReadLines[line](filepath.Join(t.TempDir(), "missing.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// The recordings of the repository read, with their keys.
func TestReadRecordings(t *testing.T) {
	dir := Dir(filepath.Join("..", ".."))
	st, err := ReadLines[StorageLine](filepath.Join(dir, "storage", "oxen-storage-server-v2.6.2.jsonl"))
	if err != nil || st[0].Case == "" || st[0].Status == 0 || len(st[0].Req) == 0 {
		t.Fatalf("storage line 1 %+v, %v", st, err)
	}
	sk, err := ReadStorageKeys(filepath.Join(dir, "storage", "keys.json"))
	if err != nil || len(sk.Accounts) == 0 || len(sk.Groups) == 0 || len(sk.Nodes) == 0 {
		t.Fatalf("storage keys %+v, %v", sk, err)
	}
	sl, err := ReadLines[SogsLine](filepath.Join(dir, "sogs", "pysogs-9497ddb.jsonl"))
	if err != nil || sl[0].Method == "" || sl[0].Status == 0 || sl[0].T == 0 {
		t.Fatalf("pysogs line 1 %+v, %v", sl, err)
	}
	kk, err := ReadSogsKeys(filepath.Join(dir, "sogs", "keys.json"))
	if err != nil || len(kk.Servers) == 0 || len(kk.Accounts) == 0 {
		t.Fatalf("pysogs keys %+v, %v", kk, err)
	}
	if _, err := ReadSogsKeys(filepath.Join(dir, "storage", "oxen-storage-server-v2.6.2.jsonl")); err == nil {
		t.Fatal("a transcript read as a keys.json")
	}
}
