package groups

import (
	"bytes"
	"errors"
	"testing"
)

func TestConfigEmptyHash(t *testing.T) {
	c := NewUserConfig()
	raw, seq, err := c.Push()
	if err != nil || seq != 0 || string(raw) != "d1:#i0e1:&de1:<le1:=dee" {
		t.Fatalf("%q %d %v", raw, seq, err)
	}
	h := c.Hash()
	if h[0] != 0xea || h[1] != 0x17 {
		t.Fatalf("hash %x", h)
	}
}

func TestConfigDiffsAndLags(t *testing.T) {
	c := NewUserConfig()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	s, _ := NewSet("b", int64(2), "a", int64(1), "a")
	must(c.Update(func(d Dict) { d["n"] = "x"; d["s"] = s; d["d"] = Dict{"k": int64(1)} }))
	raw, seq, err := c.Push()
	must(err)
	if seq != 1 {
		t.Fatalf("seq %d", seq)
	}
	want := "d1:#i1e1:&d1:dd1:ki1ee1:n1:x1:sli1ei2e1:a1:bee1:<l"
	if !bytes.HasPrefix(raw, []byte(want)) {
		t.Fatalf("%q", raw)
	}
	if !bytes.HasSuffix(raw, []byte("1:=d1:dd1:k0:e1:n0:1:slli1ei2e1:a1:beleeee")) {
		t.Fatalf("diff: %q", raw)
	}
	s2, _ := NewSet(int64(1), "c")
	must(c.Update(func(d Dict) { delete(d, "n"); d["s"] = s2 }))
	raw, _, err = c.Push()
	must(err)
	if !bytes.Contains(raw, []byte("1:=d1:n1:-1:sll1:celi2e1:a1:beee")) {
		t.Fatalf("set diff: %q", raw)
	}
	// Push without changes returns the same message.
	again, seq, _ := c.Push()
	if !bytes.Equal(again, raw) || seq != 2 {
		t.Fatal("push without changes made a new message")
	}
	// After many pushes only the last lags are kept.
	for i := 0; i < 8; i++ {
		must(c.Update(func(d Dict) { d["i"] = int64(i + 1) }))
		raw, _, err = c.Push()
		must(err)
	}
	m, err := ParseConfigMessage(raw, nil)
	must(err)
	if len(m.Lagged) != configLags-1 || m.Lagged[0].Seqno != m.Seqno-4 {
		t.Fatalf("lags: %d, first %d at seqno %d", len(m.Lagged), m.Lagged[0].Seqno, m.Seqno)
	}
}

func TestConfigMergeConflict(t *testing.T) {
	admin := NewAdminKey([32]byte{9})
	a, _ := NewGroupConfig(admin.PublicKey(), admin)
	b, _ := NewGroupConfig(admin.PublicKey(), admin)
	_ = a.Update(func(d Dict) { d["n"] = "name" })
	base, _, _ := a.Push()
	if n, err := b.Merge(base); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	_ = a.Update(func(d Dict) { d["o"] = "from a" })
	_ = b.Update(func(d Dict) { d["c"] = int64(77); d["n"] = "renamed" })
	ma, _, _ := a.Push()
	mb, _, _ := b.Push()
	if _, err := a.Merge(mb); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Merge(ma); err != nil {
		t.Fatal(err)
	}
	if !a.NeedsPush() || a.Seqno() != 3 {
		t.Fatalf("merge: needs push %v, seqno %d", a.NeedsPush(), a.Seqno())
	}
	da, db := a.Data(), b.Data()
	if da.String("o") != "from a" || da.Int("c") != 77 || da.String("n") != "renamed" {
		t.Fatalf("merged data %v", da)
	}
	ra, _, _ := a.Push()
	rb, _, _ := b.Push()
	if !bytes.Equal(ra, rb) || db.String("o") != "from a" {
		t.Fatal("the two admins did not converge on the same merge")
	}
	// The merge includes both, so merging the old messages again changes nothing.
	_, _ = a.Merge(ma, mb)
	if a.Seqno() != 3 || a.NeedsPush() {
		t.Fatal("old messages reapplied")
	}
	// A read-only member keeps the highest message and never merges.
	ro, _ := NewGroupConfig(admin.PublicKey(), nil)
	if n, _ := ro.Merge(ma, mb); n != 2 || ro.Seqno() != 2 || ro.NeedsPush() {
		t.Fatalf("read-only merge: seqno %d", ro.Seqno())
	}
	if err := ro.Update(func(Dict) {}); !errors.Is(err, ErrNotAdmin) {
		t.Fatal(err)
	}
	// Unsigned or wrongly signed messages are rejected.
	other := NewAdminKey([32]byte{8})
	o, _ := NewGroupConfig(other.PublicKey(), other)
	_ = o.Update(func(d Dict) { d["n"] = "evil" })
	evil, _, _ := o.Push()
	if n, err := ro.Merge(evil); n != 0 || !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forged: %d %v", n, err)
	}
	if _, err := ParseConfigMessage(base, nil); err != nil {
		t.Fatal(err)
	}
	pk := admin.PublicKey()
	unsigned := bytes.Replace(base, base[bytes.Index(base, []byte("1:~64:")):len(base)-1], nil, 1)
	if _, err := ParseConfigMessage(unsigned, &pk); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("unsigned: %v", err)
	}
}

func TestConfigPayloadErrors(t *testing.T) {
	var key [32]byte
	if _, err := EncryptConfig([]byte("x"), key, ""); !errors.Is(err, ErrInvalidInput) {
		t.Fatal(err)
	}
	if _, err := DecryptConfig(make([]byte, 39), key, "d"); !errors.Is(err, ErrDecrypt) {
		t.Fatal(err)
	}
	for _, body := range []string{"", "\x00\x00", "x", "m123", "zgarbage", "\x00\x00d1:#i0ee"} {
		p, _ := EncryptConfig([]byte(body), key, "d")
		_, err := DecodeConfigPayload(p, key, "d")
		if body == "\x00\x00d1:#i0ee" {
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q accepted", body)
		}
	}
	m, _ := EncryptConfig([]byte("m"), key, "d")
	if _, err := DecodeConfigPayload(m, key, "d"); !errors.Is(err, ErrUnsupported) {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("a"), 100000)
	if _, err := EncodeConfigPayload(big, key, "d", false); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if _, err := ParseConfigMessage([]byte("d1:!i1e1:#i0ee"), nil); !errors.Is(err, ErrUnsupported) {
		t.Fatal(err)
	}
	for _, bad := range []string{"le", "de", "d1:&dee", "d1:#i-1ee", "d1:#i0e1:&i1ee", "d1:#i0e1:<li1eee", "d1:#i0e1:~0:1:~1:xe", "d1:#i0e1:&d1:sli2ei1eeee"} {
		if _, err := ParseConfigMessage([]byte(bad), nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseConfigMessage(f *testing.F) {
	admin := NewAdminKey([32]byte{9})
	c, _ := NewGroupConfig(admin.PublicKey(), admin)
	_ = c.Update(func(d Dict) {
		s, _ := NewSet("a", int64(3))
		d["n"] = "x"
		d["m"] = Dict{"k": Dict{"A": int64(1)}}
		d["s"] = s
	})
	raw, _, _ := c.Push()
	f.Add(raw)
	f.Add([]byte("d1:#i0e1:&de1:<le1:=dee"))
	pk := admin.PublicKey()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseConfigMessage(data, nil)
		if err == nil {
			cfg := NewUserConfig()
			_, _ = cfg.Merge(data)
			_ = cfg.Update(func(d Dict) { d["zz"] = int64(1) })
			out, _, err := cfg.Push()
			if err != nil {
				t.Fatalf("push after merge: %v", err)
			}
			if _, err := ParseConfigMessage(out, nil); err != nil {
				t.Fatalf("our own push does not parse: %v", err)
			}
			_ = m
		}
		_, _ = ParseConfigMessage(data, &pk)
	})
}

func FuzzDecodeConfigPayload(f *testing.F) {
	var key [32]byte
	p, _ := EncodeConfigPayload([]byte("d1:#i0e1:&de1:<le1:=dee"), key, "d", true)
	f.Add([]byte("d1:#i0ee"))
	f.Add([]byte("z\x28\xb5\x2f\xfd"))
	f.Fuzz(func(t *testing.T, body []byte) {
		ct, err := EncryptConfig(body, key, "d")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = DecodeConfigPayload(ct, key, "d")
		_, _ = DecodeConfigPayload(body, key, "d")
		_ = p
	})
}

func TestConfigNormalizesAndNeverPanics(t *testing.T) {
	c := NewUserConfig()
	err := c.Update(func(d Dict) {
		d["i"] = 5
		d["b"] = true
		d["f"] = false
		d["x"] = []byte("bytes")
		d["s"] = []string{"z", "a", "a"}
		d["n"] = []int64{3, 1}
		d["m"] = map[string]any{"k": 1, "bad": 1.5}
		d["bad"] = 2.5
		d["weird"] = Set{1.5, "a", int64(1)}
	})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Data()
	if d.Int("i") != 5 || d.Int("b") != 1 || d["f"] != nil || d.String("x") != "bytes" || d["bad"] != nil || d["weird"] != nil {
		t.Fatalf("%#v", d)
	}
	if s := d.Set("s"); len(s) != 2 || s[0] != "a" {
		t.Fatalf("%#v", s)
	}
	if m := d.Dict("m"); m.Int("k") != 1 || m["bad"] != nil {
		t.Fatalf("%#v", m)
	}
	raw, _, err := c.Push()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseConfigMessage(raw, nil); err != nil {
		t.Fatal(err)
	}
	// Sets compare without panicking whatever they hold.
	_ = Set{1.5, struct{}{}}.Contains("x")
	_, _ = appendDataDiff(nil, Dict{"s": Set{1.5}}, Dict{"s": Set{struct{}{}}})
}

func TestConfigFreshAdoptsWithoutMerge(t *testing.T) {
	src := NewUserConfig()
	for i := 0; i < 7; i++ {
		_ = src.Update(func(d Dict) { d["n"] = int64(i + 1) })
		_, _, _ = src.Push()
	}
	raw, _, _ := src.Push()
	fresh := NewUserConfig()
	if n, err := fresh.Merge(raw); n != 1 || err != nil || fresh.Seqno() != 7 || fresh.NeedsPush() {
		t.Fatalf("%d %v seqno %d push %v", n, err, fresh.Seqno(), fresh.NeedsPush())
	}
}

// Two devices merge the same two messages into the same result; one pushes it and then a change
// on top, and the other, whose identical merge is still unpushed, receives that change. It took
// the change at the next seqno but marked it clean under the other's hash, though no message
// with that seqno was ever stored: it was never pushed, and the two stayed a seqno apart for good
// (TestLinkedDevicesSync in session failed about one run in four under load). It is a message
// to push now, and the two converge.
func TestConfigDirtyMergeSupersededIsPushed(t *testing.T) {
	a, b := NewUserConfig(), NewUserConfig()
	_ = a.Update(func(d Dict) { d["n"] = "one" })
	m1a, _, _ := a.Push()
	_ = b.Update(func(d Dict) { d["n"] = "two" })
	m1b, _, _ := b.Push()
	for _, x := range []struct {
		c *Config
		m []byte
	}{{a, m1b}, {b, m1a}} {
		if _, err := x.c.Merge(x.m); err != nil || !x.c.NeedsPush() {
			t.Fatal(err, x.c.NeedsPush())
		}
	}
	_, _, _ = a.Push() // a's merge, identical to b's, which is not pushed yet
	_ = a.Update(func(d Dict) { d["n"] = "Bot A" })
	ma, seqA, _ := a.Push() // its lagged diffs name the merge b holds unpushed
	if _, err := b.Merge(ma); err != nil {
		t.Fatal(err)
	}
	if b.Seqno() != seqA && !b.NeedsPush() {
		t.Fatalf("b at seqno %d (a pushed %d) with nothing to push", b.Seqno(), seqA)
	}
	if b.NeedsPush() {
		mb, _, _ := b.Push()
		if _, err := a.Merge(mb); err != nil {
			t.Fatal(err)
		}
	}
	if a.Seqno() != b.Seqno() || a.Hash() != b.Hash() {
		t.Fatalf("not converged: a seqno %d %v, b seqno %d %v", a.Seqno(), a.Data(), b.Seqno(), b.Data())
	}
}
