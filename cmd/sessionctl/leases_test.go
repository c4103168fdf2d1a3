package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
)

func TestLeases(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bots.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, _ := crypto.GenerateKeys(nil)
	id := k.AccountID()
	holder := store.NewHolderID()
	l, err := st.AcquireLease(ctx, store.LeaseRequest{Name: store.AccountLease(id), Holder: holder, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcquireLease(ctx, store.LeaseRequest{Name: "fleet/bots/member/" + holder, Holder: holder, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"leases", "-db", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{id.String(), holder, "member of fleet bots", "holds 1 account(s)", "process "} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(ctx, []string{"leases", "-db", path, "-json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got struct{ Leases []leaseRow }
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got.Leases) != 2 {
		t.Fatalf("json %q: %v", out.String(), err)
	}
	// History: release and take again.
	if err := st.ReleaseLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcquireLease(ctx, store.LeaseRequest{Name: store.AccountLease(id), Holder: "worker-2", TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(ctx, []string{"leases", "-db", path, "-history", "-account", id.String()}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if s := out.String(); !strings.Contains(s, "2 generations, no overlap") || !strings.Contains(s, "(released)") || !strings.Contains(s, "worker-2") {
		t.Fatalf("history:\n%s", s)
	}
	// A missing file is an error naming it, not an empty list.
	if code := run(ctx, []string{"leases", "-db", filepath.Join(t.TempDir(), "none.db")}, &out, &errb); code == 0 {
		t.Fatal("a missing database was accepted")
	}
}
