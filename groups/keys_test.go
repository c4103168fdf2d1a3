package groups

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/internal/bencode"
)

type testGroup struct {
	admin      *AdminKey
	adminKeys  *crypto.Keys
	members    []*crypto.Keys
	adminState *Keys
}

func newTestGroup(t testing.TB, n int) *testGroup {
	g := &testGroup{admin: NewAdminKey([32]byte{42}), adminKeys: testKeys(t, 100)}
	for i := 0; i < n; i++ {
		g.members = append(g.members, testKeys(t, byte(i+1)))
	}
	var err error
	if g.adminState, err = NewKeys(g.adminKeys, g.admin.PublicKey(), g.admin); err != nil {
		t.Fatal(err)
	}
	return g
}

func (g *testGroup) ids(members ...*crypto.Keys) []crypto.AccountID {
	out := []crypto.AccountID{g.adminKeys.AccountID()}
	for _, m := range members {
		out = append(out, m.AccountID())
	}
	return out
}

func TestKeysRekeyAndKick(t *testing.T) {
	g := newTestGroup(t, 3)
	m0, err := g.adminState.Rekey(g.ids(g.members...))
	if err != nil {
		t.Fatal(err)
	}
	if g.adminState.CurrentGeneration() != 0 {
		t.Fatal("first generation is not 0")
	}
	pendingKey, _ := g.adminState.EncryptionKey()
	if _, ok := g.adminState.PendingMessage(); !ok {
		t.Fatal("no pending message")
	}
	msg, err := g.adminState.EncryptMessage([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	states := make([]*Keys, len(g.members))
	for i, m := range g.members {
		states[i], _ = NewKeys(m, g.admin.PublicKey(), nil)
		if _, err := states[i].DecryptMessage(msg); !errors.Is(err, ErrNoKeys) {
			t.Fatalf("no keys yet: %v", err)
		}
		found, err := states[i].LoadKeyMessage("h0", m0, 1000)
		if err != nil || !found {
			t.Fatalf("member %d: %v %v", i, found, err)
		}
		if k, _ := states[i].EncryptionKey(); k != pendingKey {
			t.Fatal("member key differs from the admin's pending key")
		}
		if dm, err := states[i].DecryptMessage(msg); err != nil || string(dm.Plaintext) != "hello" || dm.Sender != g.adminKeys.AccountID() {
			t.Fatalf("member %d decrypt: %v", i, err)
		}
		// Loading the same message again finds nothing new.
		if found, _ := states[i].LoadKeyMessage("h0", m0, 1000); found {
			t.Fatal("duplicate key found again")
		}
	}
	if _, err := g.adminState.LoadKeyMessage("h0", m0, 1000); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.adminState.PendingMessage(); ok {
		t.Fatal("pending key not confirmed")
	}
	// Kick member 2: rekey without it.
	m1, err := g.adminState.Rekey(g.ids(g.members[:2]...))
	if err != nil {
		t.Fatal(err)
	}
	if g.adminState.CurrentGeneration() != 1 {
		t.Fatal("generation did not advance")
	}
	newMsg, _ := g.adminState.EncryptMessage([]byte("secret"))
	for i, s := range states {
		found, err := s.LoadKeyMessage("h1", m1, 2000)
		if err != nil {
			t.Fatal(err)
		}
		_, derr := s.DecryptMessage(newMsg)
		if i == 2 {
			if found || derr == nil {
				t.Fatal("kicked member got the new key")
			}
			if s.CurrentGeneration() != 0 || len(s.ActiveHashes()) != 2 {
				t.Fatalf("kicked member state: gen %d, hashes %v", s.CurrentGeneration(), s.ActiveHashes())
			}
			continue
		}
		if !found || derr != nil {
			t.Fatalf("member %d: %v %v", i, found, derr)
		}
		if len(s.GroupKeys()) != 2 {
			t.Fatal("old key dropped")
		}
	}
	// Supplement for a new member gives it both keys.
	_, _ = g.adminState.LoadKeyMessage("h1", m1, 2000)
	newcomer := testKeys(t, 77)
	sup, err := g.adminState.KeySupplement([]crypto.AccountID{newcomer.AccountID()})
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := NewKeys(newcomer, g.admin.PublicKey(), nil)
	if found, err := ns.LoadKeyMessage("h2", sup, 3000); !found || err != nil {
		t.Fatal(found, err)
	}
	ks := ns.Keys()
	if len(ks) != 2 || ks[0].Timestamp.UnixMilli() != 1000 || ks[1].Generation != 1 {
		t.Fatalf("supplemented keys %+v", ks)
	}
	if _, err := ns.DecryptMessage(msg); err != nil {
		t.Fatal("newcomer cannot read history")
	}
}

func TestKeysRejectsBadMessages(t *testing.T) {
	g := newTestGroup(t, 1)
	good, _, _ := BuildRekeyMessage(g.admin, g.ids(g.members...), 0)
	member, _ := NewKeys(g.members[0], g.admin.PublicKey(), nil)
	forger := NewAdminKey([32]byte{1})
	forged, _, _ := buildRekey(forger, g.ids(g.members...), 0)
	v, _ := bencode.Decode(good)
	resign := func(f func(d bencode.Dict) bencode.Dict) []byte {
		var d bencode.Dict
		for _, e := range v.Dict {
			if string(e.Key) != "~" {
				d = append(d, bencode.KV{Key: string(e.Key), Value: e.Value})
			}
		}
		d = f(d)
		b, err := bencode.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return signKeyMessage(g.admin, b[:len(b)-1])
	}
	list := func(n int, size int) []any {
		var l []any
		for i := 0; i < n; i++ {
			l = append(l, make([]byte, size))
		}
		return l
	}
	cases := map[string]struct {
		msg  []byte
		want error
	}{
		"forged":       {forged, ErrBadSignature},
		"not bencode":  {[]byte("nope"), ErrMalformed},
		"truncated":    {good[:len(good)-10], ErrMalformed},
		"sig flipped":  {append(append([]byte{}, good[:len(good)-2]...), good[len(good)-2]^1, 'e'), ErrBadSignature},
		"74 entries":   {resign(func(d bencode.Dict) bencode.Dict { d[3].Value = list(74, 48); return d }), ErrMalformed},
		"short entry":  {resign(func(d bencode.Dict) bencode.Dict { d[3].Value = append(list(74, 48), make([]byte, 47)); return d }), ErrMalformed},
		"K 47":         {resign(func(d bencode.Dict) bencode.Dict { d[2].Value = make([]byte, 47); return d }), ErrMalformed},
		"negative G":   {resign(func(d bencode.Dict) bencode.Dict { d[1].Value = -1; return d }), ErrMalformed},
		"nonce 23":     {resign(func(d bencode.Dict) bencode.Dict { d[0].Value = make([]byte, 23); return d }), ErrMalformed},
		"sig not last": {append(bytes.Clone(good[:len(good)-1]), "1:~i1ee"...), ErrMalformed},
		"short supp":   {resign(func(d bencode.Dict) bencode.Dict { return bencode.Dict{d[0], d[1], {Key: "+", Value: list(1, 67)}} }), ErrMalformed},
	}
	for name, c := range cases {
		found, err := member.LoadKeyMessage("x", c.msg, 1)
		if found || !errors.Is(err, c.want) {
			t.Errorf("%s: %v %v, want %v", name, found, err, c.want)
		}
	}
	if len(member.Keys()) != 0 || len(member.ActiveHashes()) != 0 {
		t.Fatal("rejected messages changed the state")
	}
	// Zero members: an empty k list is valid (0 is a multiple of 75).
	empty, _, err := buildRekey(g.admin, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if found, err := member.LoadKeyMessage("e", empty, 1); found || err != nil {
		t.Fatalf("empty rekey: %v %v", found, err)
	}
	if found, err := member.LoadKeyMessage("g", good, 1); !found || err != nil {
		t.Fatal(found, err)
	}
}

func TestKeysExpiryAndNeedsRekey(t *testing.T) {
	g := newTestGroup(t, 1)
	member, _ := NewKeys(g.members[0], g.admin.PublicKey(), nil)
	ids := g.ids(g.members...)
	day := int64(24 * time.Hour / time.Millisecond)
	m0, _, _ := buildRekey(g.admin, ids, 0)
	m1, _, _ := buildRekey(g.admin, ids, 1)
	m2, _, _ := buildRekey(g.admin, ids, 2)
	_, _ = member.LoadKeyMessage("0", m0, 0)
	_, _ = member.LoadKeyMessage("1", m1, 10*day)
	if len(member.Keys()) != 2 {
		t.Fatal("keys")
	}
	_, _ = member.LoadKeyMessage("2", m2, 71*day) // gen 1 has been around for 61 days
	ks := member.Keys()
	if len(ks) != 2 || ks[0].Generation != 1 {
		t.Fatalf("gen 0 not expired: %+v", ks)
	}
	// Two different keys in the top generation: needs a rekey.
	other := append([]crypto.AccountID{}, ids...)
	other = append(other, testKeys(t, 55).AccountID())
	m2b, _, _ := buildRekey(g.admin, other, 2)
	if member.NeedsRekey() {
		t.Fatal("needs rekey too early")
	}
	_, _ = member.LoadKeyMessage("2b", m2b, 71*day+1)
	if !member.NeedsRekey() {
		t.Fatal("conflicting keys not noticed")
	}
	if member.IsAdmin() {
		t.Fatal("member is admin")
	}
	if _, err := member.Rekey(ids); !errors.Is(err, ErrNotAdmin) {
		t.Fatal(err)
	}
	if err := member.LoadAdminKey(NewAdminKey([32]byte{1})); err == nil {
		t.Fatal("wrong admin key accepted")
	}
	if err := member.LoadAdminKey(g.admin); err != nil || !member.IsAdmin() {
		t.Fatal(err)
	}
	m3, err := member.Rekey(ids)
	if err != nil || member.CurrentGeneration() != 3 || bytes.Equal(m3, m2) {
		t.Fatal("promoted member cannot rekey")
	}
}

func FuzzLoadKeyMessage(f *testing.F) {
	g := newTestGroup(f, 2)
	m, _, _ := buildRekey(g.admin, g.ids(g.members...), 0)
	f.Add(m)
	_, _ = g.adminState.Rekey(g.ids(g.members...))
	_, _ = g.adminState.LoadKeyMessage("h", m, 1)
	sup, _ := g.adminState.KeySupplement([]crypto.AccountID{g.members[0].AccountID()})
	f.Add(sup)
	f.Add([]byte("d1:#24:aaaaaaaaaaaaaaaaaaaaaaaa1:Gi0e1:~64:" + string(make([]byte, 64)) + "e"))
	f.Fuzz(func(t *testing.T, data []byte) {
		member, _ := NewKeys(g.members[0], g.admin.PublicKey(), nil)
		found, err := member.LoadKeyMessage("f", data, 1)
		if err != nil && (found || len(member.Keys()) != 0) {
			t.Fatal("rejected message changed the state")
		}
		adm, _ := NewKeys(g.adminKeys, g.admin.PublicKey(), g.admin)
		_, _ = adm.LoadKeyMessage("f", data, 1)
	})
}

func BenchmarkRekey100(b *testing.B) {
	g := newTestGroup(b, 99)
	ids := g.ids(g.members...)
	for b.Loop() {
		if _, err := g.adminState.Rekey(ids); err != nil {
			b.Fatal(err)
		}
	}
}
