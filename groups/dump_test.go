package groups

import (
	"bytes"
	"testing"
)

func TestConfigDumpRestore(t *testing.T) {
	admin := NewAdminKey([32]byte{4})
	pk := admin.PublicKey()
	c, _ := NewGroupConfig(pk, admin)
	d0 := c.Dump()
	r0, err := RestoreConfig(d0, &pk, admin)
	if err != nil || r0.Seqno() != 0 {
		t.Fatal(err)
	}
	_ = c.Update(Info{Name: "a"}.Apply)
	_, _, _ = c.Push()
	_ = c.Update(Info{Name: "b"}.Apply) // unpushed
	r, err := RestoreConfig(c.Dump(), &pk, admin)
	if err != nil {
		t.Fatal(err)
	}
	// As with libsession, unpushed changes come back at the next seqno (the dumped message
	// becomes a lagged diff), so nothing is lost even if it had been pushed after all.
	if r.Seqno() != 3 || !r.NeedsPush() || InfoFromData(r.Data()).Name != "b" {
		t.Fatalf("restored seqno %d push %v", r.Seqno(), r.NeedsPush())
	}
	a1, _, _ := c.Push()
	a2, _, _ := r.Push()
	m1, err1 := ParseConfigMessage(a1, &pk)
	m2, err2 := ParseConfigMessage(a2, &pk)
	if err1 != nil || err2 != nil || !equalDicts(m1.Data, m2.Data) || m2.Lagged[len(m2.Lagged)-1].Seqno != m1.Seqno {
		t.Fatal("restored config does not continue from the dumped one")
	}
	// A clean dump restores byte for byte.
	r2, err := RestoreConfig(c.Dump(), &pk, admin)
	if err != nil || r2.NeedsPush() || r2.Hash() != c.Hash() {
		t.Fatalf("clean restore: %v", err)
	}
	if _, err := RestoreConfig(c.Dump(), &[32]byte{1}, nil); err == nil {
		t.Fatal("restored under another group key")
	}
	u := NewUserConfig()
	if _, err := RestoreConfig(u.Dump(), nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "de", "d1:mi1ee", "d1:m3:abce"} {
		if _, err := RestoreConfig([]byte(bad), nil, nil); err == nil {
			t.Errorf("%q restored", bad)
		}
	}
}

func TestKeysDumpRestore(t *testing.T) {
	g := newTestGroup(t, 2)
	ids := g.ids(g.members...)
	m0, _ := g.adminState.Rekey(ids)
	_, _ = g.adminState.LoadKeyMessage("h0", m0, 1000)
	_, _ = g.adminState.Rekey(ids) // pending
	r, err := RestoreKeys(g.adminState.Dump(), g.adminKeys, g.admin.PublicKey(), g.admin)
	if err != nil {
		t.Fatal(err)
	}
	if !slicesEqual(r.GroupKeys(), g.adminState.GroupKeys()) || r.CurrentGeneration() != 1 {
		t.Fatal("restored keys differ")
	}
	p1, _ := r.PendingMessage()
	p2, _ := g.adminState.PendingMessage()
	if !bytes.Equal(p1, p2) || len(r.ActiveHashes()) != 1 {
		t.Fatal("pending or hashes lost")
	}
	for _, bad := range []string{"", "le", "d1:kli1eee", "d1:pli1e1:xee"} {
		if _, err := RestoreKeys([]byte(bad), g.adminKeys, g.admin.PublicKey(), nil); err == nil {
			t.Errorf("%q restored", bad)
		}
	}
}

func slicesEqual(a, b [][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzRestore(f *testing.F) {
	g := newTestGroup(f, 1)
	m0, _ := g.adminState.Rekey(g.ids(g.members...))
	_, _ = g.adminState.LoadKeyMessage("h", m0, 1)
	f.Add(g.adminState.Dump())
	c := NewUserConfig()
	_ = c.Update(func(d Dict) { d["n"] = "x" })
	f.Add(c.Dump())
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = RestoreKeys(data, g.adminKeys, g.admin.PublicKey(), nil)
		if r, err := RestoreConfig(data, nil, nil); err == nil {
			_, _, _ = r.Push()
		}
	})
}
