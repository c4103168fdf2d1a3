package store_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory() })
}

// Issue 16 (10): importing session (with its in-memory store) must not pull SQLite.
func TestSessionDoesNotImportSQLite(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/sessiongo/sdk/session", "github.com/sessiongo/sdk/store").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "modernc.org/") || strings.Contains(pkg, "jackc/") {
			t.Errorf("session or store depends on %s: database drivers belong in store/sqlite and store/postgres", pkg)
		}
	}
}
