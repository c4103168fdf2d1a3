package swarm

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

func testKeys(t testing.TB, b byte) *crypto.Keys {
	t.Helper()
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = b
	}
	k, err := crypto.KeysFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func decodeParams(t *testing.T, body []byte) (string, map[string]any) {
	t.Helper()
	var j struct {
		Method string         `json:"method"`
		Params map[string]any `json:"params"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		t.Fatal(err)
	}
	return j.Method, j.Params
}

var hashA = strings.Repeat("a", 43)

func TestEncodeRequestKeysSigner(t *testing.T) {
	k := testKeys(t, 1)
	now := int64(1700000000123)
	body, err := EncodeRequest(StoreRequest{Namespace: NamespaceContacts, Data: []byte("hi"), TTL: time.Hour}, NewKeysSigner(k), now)
	if err != nil {
		t.Fatal(err)
	}
	m, p := decodeParams(t, body)
	if m != "store" || p["pubkey"] != k.AccountID().String() || p["namespace"] != float64(3) ||
		p["ttl"] != float64(3600000) || p["timestamp"] != float64(now) || p["sig_timestamp"] != float64(now) ||
		p["data"] != base64.StdEncoding.EncodeToString([]byte("hi")) {
		t.Fatalf("params %v", p)
	}
	pk := k.Ed25519PublicKey()
	sig, _ := base64.StdEncoding.DecodeString(p["signature"].(string))
	if !ed25519.Verify(pk[:], []byte("store31700000000123"), sig) {
		t.Fatal("signature does not verify")
	}
	// Namespace 0 is left out (the server's default) and signs as "".
	body, _ = EncodeRequest(RetrieveRequest{LastHash: hashA, MaxCount: 5, MaxSize: -2}, NewKeysSigner(k), now)
	_, p = decodeParams(t, body)
	if _, ok := p["namespace"]; ok || p["last_hash"] != hashA || p["max_count"] != float64(5) || p["max_size"] != float64(-2) {
		t.Fatalf("params %v", p)
	}
}

func TestEncodeRequestGroupAdmin(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	s, err := NewGroupAdminSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	if s.AccountID().Prefix() != crypto.PrefixGroup {
		t.Fatal("group signer is not 03")
	}
	body, err := EncodeRequest(DeleteAllRequest{AllNamespaces: true}, s, 1700000000123)
	if err != nil {
		t.Fatal(err)
	}
	_, p := decodeParams(t, body)
	if _, ok := p["pubkey_ed25519"]; ok || p["namespace"] != "all" {
		t.Fatalf("params %v", p)
	}
	sig, _ := base64.StdEncoding.DecodeString(p["signature"].(string))
	if !ed25519.Verify(priv.Public().(ed25519.PublicKey), []byte("delete_allall1700000000123"), sig) {
		t.Fatal("signature does not verify")
	}
	if _, err := NewGroupAdminSigner(priv[:40]); err == nil {
		t.Fatal("short key accepted")
	}
	bad := append(ed25519.PrivateKey(nil), priv...)
	bad[40] ^= 1
	if _, err := NewGroupAdminSigner(bad); err == nil {
		t.Fatal("mismatched key accepted")
	}
}

type subSigner struct{ id crypto.AccountID }

func (s subSigner) AccountID() crypto.AccountID { return s.id }
func (s subSigner) SignRequest([]byte) (Auth, error) {
	var tok [36]byte
	tok[0] = 3
	var sig [64]byte
	return Auth{Subaccount: &tok, SubaccountSig: &sig}, nil
}

type halfSubSigner struct{ subSigner }

func (s halfSubSigner) SignRequest([]byte) (Auth, error) {
	return Auth{Subaccount: &[36]byte{}}, nil
}

func TestEncodeRequestSubaccount(t *testing.T) {
	id := crypto.NewAccountID(crypto.PrefixGroup, [32]byte{9})
	body, err := EncodeRequest(RetrieveRequest{Namespace: NamespaceGroupMessages}, subSigner{id}, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, p := decodeParams(t, body)
	if len(p["subaccount"].(string)) != 48 || len(p["subaccount_sig"].(string)) != 88 {
		t.Fatalf("params %v", p)
	}
	if _, err := EncodeRequest(RetrieveRequest{Namespace: 11}, halfSubSigner{subSigner{id}}, 1); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("token without signature: %v", err)
	}
}

func TestEncodeRequestUnsigned(t *testing.T) {
	id := testKeys(t, 2).AccountID()
	body, err := EncodeRequest(StoreRequest{Data: []byte("x"), TTL: time.Minute}, Unsigned(id), 1700000000000)
	if err != nil {
		t.Fatal(err)
	}
	_, p := decodeParams(t, body)
	if _, ok := p["signature"]; ok {
		t.Fatal("unsigned store carries a signature")
	}
	if _, ok := p["sig_timestamp"]; ok || p["timestamp"] == nil {
		t.Fatalf("params %v", p)
	}
	if _, err := EncodeRequest(RetrieveRequest{Namespace: NamespaceLegacyClosed}, Unsigned(id), 1); err != nil {
		t.Fatalf("public retrieve: %v", err)
	}
	if _, err := EncodeRequest(RetrieveRequest{Namespace: -21}, Unsigned(id), 1); err != nil {
		t.Fatalf("public outbox retrieve: %v", err)
	}
	for _, r := range []Request{
		StoreRequest{Namespace: 2, Data: []byte("x"), TTL: time.Minute},
		RetrieveRequest{},
		DeleteRequest{Hashes: []string{hashA}},
		DeleteAllRequest{},
	} {
		if _, err := EncodeRequest(r, Unsigned(id), 1); !errors.Is(err, ErrCannotSign) {
			t.Errorf("%s unsigned: %v", r.Method(), err)
		}
	}
	if _, err := EncodeRequest(RetrieveRequest{}, nil, 1); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("nil signer: %v", err)
	}
}

func TestRequestValidation(t *testing.T) {
	s := NewKeysSigner(testKeys(t, 3))
	bad := []Request{
		StoreRequest{Data: make([]byte, MaxMessageSize+1), TTL: time.Hour},
		StoreRequest{Data: []byte("x"), TTL: time.Second},
		RetrieveRequest{LastHash: "short"},
		DeleteRequest{},
		DeleteRequest{Hashes: []string{"x"}},
		ExpireRequest{Hashes: []string{hashA}, Shorten: true, Extend: true},
		ExpireRequest{Hashes: []string{hashA}, Expiries: []time.Time{{}, {}}},
		ExpireRequest{},
		GetExpiriesRequest{},
		RevokeSubaccountRequest{},
		RevokeSubaccountRequest{Tokens: make([][36]byte, MaxRevokeTokens+1)},
		UnrevokeSubaccountRequest{},
	}
	for _, r := range bad {
		if _, err := EncodeRequest(r, s, 1); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s %+v: %v", r.Method(), r, err)
		}
	}
	if _, err := EncodeBatch("batch", s, 1); !errors.Is(err, ErrInvalidRequest) {
		t.Error("empty batch accepted")
	}
	if _, err := EncodeBatch("ifelse", s, 1, RetrieveRequest{}); !errors.Is(err, ErrInvalidRequest) {
		t.Error("ifelse accepted")
	}
	many := make([]Request, MaxBatchRequests+1)
	for i := range many {
		many[i] = RetrieveRequest{}
	}
	if _, err := EncodeBatch("batch", s, 1, many...); !errors.Is(err, ErrInvalidRequest) {
		t.Error("oversized batch accepted")
	}
}

func TestExpireMultiAndBatch(t *testing.T) {
	s := NewKeysSigner(testKeys(t, 4))
	r := ExpireRequest{Hashes: []string{hashA, hashA}, Expiries: []time.Time{time.UnixMilli(5), time.UnixMilli(6)}, Extend: true}
	if got := string(r.SignatureMessage(0)); got != "expireextend56"+hashA+hashA {
		t.Fatalf("message %q", got)
	}
	body, err := EncodeBatch("sequence", s, 7, r, GetExpiriesRequest{Hashes: []string{hashA}})
	if err != nil {
		t.Fatal(err)
	}
	m, p := decodeParams(t, body)
	reqs := p["requests"].([]any)
	if m != "sequence" || len(reqs) != 2 {
		t.Fatalf("%s %v", m, p)
	}
	first := reqs[0].(map[string]any)
	if first["method"] != "expire" || len(first["params"].(map[string]any)["expiry"].([]any)) != 2 {
		t.Fatalf("%v", first)
	}
}

func TestNamespaceClasses(t *testing.T) {
	for ns, want := range map[Namespace][3]bool{ // inbox, outbox, retrieve needs auth
		0: {true, false, true}, 10: {true, false, true}, -10: {true, false, false}, -1: {false, true, false},
		-21: {false, true, false}, -11: {false, false, true}, 2: {false, false, true}, 11: {false, false, true},
		-32768: {false, false, true},
	} {
		got := [3]bool{ns.IsPublicInbox(), ns.IsPublicOutbox(), ns.RetrieveNeedsAuth()}
		if got != want {
			t.Errorf("namespace %d: %v, want %v", ns, got, want)
		}
	}
}
