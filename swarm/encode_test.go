package swarm

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"
)

// allRequests is one request of every type, with every optional field set in some.
func allRequests() []Request {
	at := time.UnixMilli(1_800_000_000_000)
	tok := [SubaccountTokenSize]byte{1, 2, 3}
	return []Request{
		StoreRequest{Namespace: 0, Data: bytes.Repeat([]byte{0xfb, 0xff}, 300), TTL: 14 * 24 * time.Hour, Timestamp: at},
		StoreRequest{Namespace: -10, Data: []byte("x"), TTL: MinTTL},
		StoreRequest{Namespace: 5, Data: nil, TTL: time.Hour},
		RetrieveRequest{},
		RetrieveRequest{Namespace: 2, LastHash: hashA, MaxCount: 10, MaxSize: -4},
		RetrieveRequest{Namespace: -10},
		DeleteRequest{Hashes: []string{hashA, hashA}, Required: true},
		DeleteAllRequest{Namespace: 3},
		DeleteAllRequest{AllNamespaces: true},
		DeleteBeforeRequest{Before: at, AllNamespaces: true},
		DeleteBeforeRequest{Before: at, Namespace: 11},
		ExpireAllRequest{Expiry: at, Namespace: 1},
		ExpireRequest{Hashes: []string{hashA}, Expiry: at, Shorten: true},
		ExpireRequest{Hashes: []string{hashA, hashA}, Expiries: []time.Time{at, at.Add(time.Hour)}},
		GetExpiriesRequest{Hashes: []string{hashA}},
		RevokeSubaccountRequest{Tokens: [][SubaccountTokenSize]byte{tok}},
		UnrevokeSubaccountRequest{Tokens: [][SubaccountTokenSize]byte{tok, tok}},
	}
}

func checkEncodeMatches(t *testing.T, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := appendJSON(nil, v)
	if ok && !bytes.Equal(got, want) {
		t.Fatalf("by hand:\n%s\nencoding/json:\n%s", got, want)
	}
}

// Request bodies written by hand are encoding/json's bytes, for every request type and signer.
func TestEncodeMatchesJSON(t *testing.T) {
	admin, err := NewGroupAdminSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	k := testKeys(t, 3)
	signers := []Signer{NewKeysSigner(k), Unsigned(k.AccountID()), admin}
	var subs []rpcBody
	for _, s := range signers {
		for _, r := range allRequests() {
			p, err := signedParams(r, s, 1_800_000_000_123)
			if err != nil {
				continue // a request this signer cannot send
			}
			body := rpcBody{Method: r.Method(), Params: p}
			if _, ok := appendJSON(nil, body); !ok {
				t.Errorf("%s by %T: not written by hand", r.Method(), s)
			}
			checkEncodeMatches(t, body)
			subs = append(subs, body)
		}
	}
	checkEncodeMatches(t, rpcBody{Method: "batch", Params: map[string]any{"requests": subs}})
	// What is not written by hand goes to encoding/json.
	for _, v := range []any{
		map[string]any{"a": "<tag>"}, map[string]any{"a": "é"}, map[string]any{"a": 1.5},
		map[string]any{"a": []byte("x")}, map[string]any{"a\n": 1}, "\x7f", []string{"a", "\"b"},
	} {
		if _, ok := appendJSON(nil, v); ok {
			t.Errorf("%#v written by hand", v)
		}
	}
	body, err := marshalRPC("m", map[string]any{"a": "<&>", "b": 2.5}, 0)
	if want, _ := json.Marshal(rpcBody{Method: "m", Params: map[string]any{"a": "<&>", "b": 2.5}}); err != nil || !bytes.Equal(body, want) {
		t.Fatalf("marshalRPC %s %v, want %s", body, err, want)
	}
}

func FuzzEncodeMatchesJSON(f *testing.F) {
	f.Add("a", "b", int64(1), true)
	f.Add("<", "\u2028", int64(-1), false)
	f.Fuzz(func(t *testing.T, k, s string, n int64, b bool) {
		checkEncodeMatches(t, rpcBody{Method: s, Params: map[string]any{
			k: s, "n": n, "i": int(n), "b": b, "l": []string{s, k}, "e": []int64{n, 0}, "z": []string(nil),
			"sub": []rpcBody{{Method: k, Params: map[string]any{s: n}}},
		}})
	})
}
