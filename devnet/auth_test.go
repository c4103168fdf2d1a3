package devnet

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"
)

// subaccount builds a token for member key m with flags, signed by the group g.
func subaccount(g, m *user, flags byte) (token [36]byte, tokenB64, subSig string) {
	token[0] = g.acct[0]
	token[1] = flags
	copy(token[4:], m.pub[:])
	return token, base64.StdEncoding.EncodeToString(token[:]), base64.StdEncoding.EncodeToString(ed25519.Sign(g.priv, token[:]))
}

func subParams(g, m *user, flags byte, p obj, msg string) obj {
	_, tok, ssig := subaccount(g, m, flags)
	p["pubkey"] = g.hex()
	p["subaccount"] = tok
	p["subaccount_sig"] = ssig
	p["signature"] = m.sign(msg)
	return p
}

func TestSessionAuth(t *testing.T) {
	tn := startNet(t, WithNodes(5))
	u := newUser(t, 20, 0x05)
	n, _ := tn.home(u)
	now := ms(time.Now())
	// The Ed key must convert to the 05 account's X25519 key.
	other := newUser(t, 21, 0x05)
	p := obj{"pubkey": u.hex(), "pubkey_ed25519": hex.EncodeToString(other.pub[:]), "timestamp": now, "signature": other.sign("retrieve" + itoa(now))}
	tn.expectText(n, "retrieve", p, 401, "retrieve signature verification failed")
	tn.rpcJSON(n, "retrieve", u.auth(obj{"timestamp": now}, "retrieve"+itoa(now)), 200)
	// 64-hex ed key, 88-char padded signature form, and 86-char unpadded form.
	sig := ed25519.Sign(u.priv, []byte("retrieve"+itoa(now)))
	p = obj{"pubkey": u.hex(), "pubkey_ed25519": hex.EncodeToString(u.pub[:]), "timestamp": now, "signature": base64.RawStdEncoding.EncodeToString(sig)}
	tn.rpcJSON(n, "retrieve", p, 200)
}

func TestSubaccountAuthAndRevocation(t *testing.T) {
	tn := startNet(t, WithNodes(5))
	g := newUser(t, 22, 0x03)
	m := newUser(t, 23, 0x05)
	n, members := tn.home(g)
	now := ms(time.Now())
	rw := subRead | subWrite
	// Store and retrieve with a read/write token.
	res := tn.rpcJSON(n, "store", subParams(g, m, rw, obj{"namespace": 11, "timestamp": now, "ttl": 60000, "data": "eA=="}, "store11"+itoa(now)), 200)
	h := res["hash"].(string)
	r := tn.rpcJSON(n, "retrieve", subParams(g, m, rw, obj{"namespace": 11, "timestamp": now}, "retrieve11"+itoa(now)), 200)
	if len(r["messages"].([]any)) != 1 {
		t.Fatal("subaccount retrieve")
	}
	// Hex token encoding works too.
	tok, _, ssig := subaccount(g, m, rw)
	tn.rpcJSON(n, "retrieve", obj{"pubkey": g.hex(), "namespace": 11, "timestamp": now, "subaccount": hex.EncodeToString(tok[:]), "subaccount_sig": ssig, "signature": m.sign("retrieve11" + itoa(now))}, 200)
	// Missing flags: read-only cannot store; write-only cannot delete; public outbox needs delete.
	tn.expectText(n, "store", subParams(g, m, subRead, obj{"namespace": 11, "timestamp": now, "ttl": 60000, "data": "eQ=="}, "store11"+itoa(now)), 401, "store signature verification failed")
	tn.expectText(n, "delete", subParams(g, m, rw, obj{"messages": []string{h}}, "delete"+h), 401, "delete_msgs signature verification failed")
	tn.expectText(n, "store", subParams(g, m, rw, obj{"namespace": -1, "timestamp": now, "ttl": 60000, "data": "eQ=="}, "store-1"+itoa(now)), 401, "store signature verification failed")
	// Wrong prefix needs AnyPrefix.
	bad, _, _ := subaccount(g, m, rw)
	bad[0] = 0x05
	badSig := base64.StdEncoding.EncodeToString(ed25519.Sign(g.priv, bad[:]))
	p := obj{"pubkey": g.hex(), "namespace": 11, "timestamp": now, "subaccount": base64.StdEncoding.EncodeToString(bad[:]), "subaccount_sig": badSig, "signature": m.sign("retrieve11" + itoa(now))}
	tn.expectText(n, "retrieve", p, 401, "retrieve signature verification failed")
	bad[1] |= subAnyPrefix
	p["subaccount"] = base64.StdEncoding.EncodeToString(bad[:])
	p["subaccount_sig"] = base64.StdEncoding.EncodeToString(ed25519.Sign(g.priv, bad[:]))
	tn.rpcJSON(n, "retrieve", p, 200)
	// Token not signed by the group.
	p = subParams(g, m, rw, obj{"namespace": 11, "timestamp": now}, "retrieve11"+itoa(now))
	p["subaccount_sig"] = m.sign("nope")
	tn.expectText(n, "retrieve", p, 401, "retrieve signature verification failed")
	// subaccount without subaccount_sig → 400.
	p = subParams(g, m, rw, obj{"namespace": 11, "timestamp": now}, "retrieve11"+itoa(now))
	delete(p, "subaccount_sig")
	tn.expectText(n, "retrieve", p, 400, "invalid request: Required field 'subaccount_sig' missing")
	// shorten with a token lacking delete → 400.
	exp := now + 30000
	tn.expectText(n, "expire", subParams(g, m, rw, obj{"messages": []string{h}, "expiry": exp, "shorten": true}, "expireshorten"+itoa(exp)+h), 400,
		"invalid request: expire: shortening requires a subaccount with delete permission")
	// A plain expire with such a token is made extend-only: shortening leaves it unchanged.
	res = tn.rpcJSON(n, "expire", subParams(g, m, rw, obj{"messages": []string{h}, "expiry": exp}, "expire"+itoa(exp)+h), 200)
	if e := res["swarm"].(map[string]any)[n.edHex()].(map[string]any); len(strs(e["updated"])) != 0 || e["unchanged"] == nil {
		t.Fatalf("extend-only expire: %v", e)
	}

	// Revoke (owner only), then the token fails, except for retrieve from an unrevocable ns.
	ts := ms(time.Now())
	revMsg := append([]byte("revoke_subaccount"+itoa(ts)), tok[:]...)
	rev := obj{"pubkey": g.hex(), "revoke": base64.StdEncoding.EncodeToString(tok[:]), "timestamp": ts,
		"signature": base64.StdEncoding.EncodeToString(ed25519.Sign(g.priv, revMsg))}
	res = tn.rpcJSON(n, "revoke_subaccount", rev, 200)
	for k, v := range res["swarm"].(map[string]any) {
		e := v.(map[string]any)
		pk, _ := hex.DecodeString(k)
		sig, _ := base64.StdEncoding.DecodeString(e["signature"].(string))
		if !ed25519.Verify(pk, append([]byte(g.hex()+itoa(ts)), tok[:]...), sig) {
			t.Fatal("revoke member signature")
		}
		if _, ok := e["count"]; ok {
			t.Fatal("revoke must not report count")
		}
	}
	if len(res["swarm"].(map[string]any)) != len(members) {
		t.Fatal("revoke not recursive")
	}
	for _, mem := range members {
		tn.expectText(mem, "retrieve", subParams(g, m, rw, obj{"namespace": 11, "timestamp": now}, "retrieve11"+itoa(now)), 401, "retrieve signature verification failed")
	}
	tn.rpcJSON(n, "retrieve", subParams(g, m, rw, obj{"namespace": -11, "timestamp": now}, "retrieve-11"+itoa(now)), 200)
	// A revoke signed by the member itself is refused.
	rev["signature"] = base64.StdEncoding.EncodeToString(ed25519.Sign(m.priv, revMsg))
	tn.expectText(n, "revoke_subaccount", rev, 401, "revoke_subaccount signature verification failed")
	// Revocation matches the whole token: other flags are a different token.
	tn.rpcJSON(n, "retrieve", subParams(g, m, subRead, obj{"namespace": 11, "timestamp": now}, "retrieve11"+itoa(now)), 200)
	// Unrevoke restores access and reports a count.
	unMsg := append([]byte("unrevoke_subaccount"+itoa(ts)), tok[:]...)
	res = tn.rpcJSON(n, "unrevoke_subaccount", obj{"pubkey": g.hex(), "unrevoke": []string{hex.EncodeToString(tok[:])}, "timestamp": ts,
		"signature": base64.StdEncoding.EncodeToString(ed25519.Sign(g.priv, unMsg))}, 200)
	if c := res["swarm"].(map[string]any)[n.edHex()].(map[string]any)["count"]; c.(float64) != 1 {
		t.Fatalf("unrevoke count %v", c)
	}
	tn.rpcJSON(n, "retrieve", subParams(g, m, rw, obj{"namespace": 11, "timestamp": now}, "retrieve11"+itoa(now)), 200)
}

func TestRevocationListCap(t *testing.T) {
	s := newStore()
	var owner account
	var toks [][36]byte
	for i := 0; i < 60; i++ {
		var tk [36]byte
		tk[4] = byte(i)
		toks = append(toks, tk)
		s.revoke(owner, [][36]byte{tk})
	}
	if s.isRevoked(owner, toks[0]) || !s.isRevoked(owner, toks[59]) || !s.isRevoked(owner, toks[10]) {
		t.Fatal("revocation list must keep the 50 most recent")
	}
}
