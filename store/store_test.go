package store_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store { return store.NewMemory(opts...) })
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

func TestAccountRedacted(t *testing.T) {
	a := storetest.TestAccount(t, 1)
	for i := range a.Seed {
		a.Seed[i] = byte(0xC0 + i)
	}
	storetest.CheckRedacted(t, a, a.Seed[:])
	storetest.CheckRedacted(t, &a, a.Seed[:])
	storetest.CheckRedacted(t, a.Seed, a.Seed[:])
	storetest.CheckRedacted(t, []store.Account{a}, a.Seed[:])
	storetest.CheckRedacted(t, struct{ A store.Account }{a}, a.Seed[:])
	if s := fmt.Sprint(a); !strings.Contains(s, a.ID.String()) || !strings.Contains(s, "bot1") || !strings.Contains(s, "[redacted]") {
		t.Fatalf("String = %q", s)
	}
	b, _ := json.Marshal(a)
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil || back["id"] != a.ID.String() || back["seed"] != "[redacted]" {
		t.Fatalf("JSON = %s", b)
	}
	// The bytes are still there for those who ask for them.
	k, err := a.Keys()
	if err != nil || k.Seed() != a.Seed {
		t.Fatal("redaction changed the seed")
	}
}

func TestSeenUntil(t *testing.T) {
	now := time.Now()
	if got, want := store.SeenUntil(now), now.Add(store.MaxMessageTTL+store.PruneMargin); !got.Equal(want) {
		t.Fatalf("SeenUntil = %v, want %v", got, want)
	}
}

func TestCheckLeaseHistory(t *testing.T) {
	t0 := time.Now()
	ok := []store.LeaseRecord{
		{Name: "a", Generation: 1, Acquired: t0, Ended: t0.Add(time.Second)},
		{Name: "a", Generation: 2, Acquired: t0.Add(time.Second), Ended: t0.Add(2 * time.Second)},
		{Name: "b", Generation: 1, Acquired: t0, Ended: t0.Add(time.Minute)},
	}
	if err := store.CheckLeaseHistory(ok); err != nil {
		t.Fatal(err)
	}
	bad := append([]store.LeaseRecord(nil), ok...)
	bad[1].Acquired = t0.Add(time.Second - time.Millisecond)
	if err := store.CheckLeaseHistory(bad); err == nil {
		t.Fatal("overlap not reported")
	}
}

func TestHolderID(t *testing.T) {
	h := store.NewHolderID()
	if h == store.NewHolderID() {
		t.Fatal("two holder IDs alike")
	}
	if d := store.DescribeHolder(h); !strings.Contains(d, fmt.Sprint(os.Getpid())) {
		t.Fatalf("DescribeHolder = %q", d)
	}
	if store.HolderGone(h) {
		t.Fatal("this process is not gone")
	}
	if store.HolderGone("worker-1") || store.HolderGone("") {
		t.Fatal("a holder not made by NewHolderID cannot be known gone")
	}
}
