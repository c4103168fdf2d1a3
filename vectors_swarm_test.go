package sdk_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/sns"
	"github.com/sessiongo/sdk/swarm"
)

// Swarm ops of onion_swarm.json and storage.json: swarm space, closest swarm, storage request
// signature messages and message hashes.
func init() {
	registerVectors("swarm_space", swvSwarmSpace)
	registerVectors("closest_swarm", swvClosestSwarm)
	registerVectors("sig_message", swvSigMessage)
	registerVectors("message_hash", swvMessageHash)
}

// swvSwarmSpace checks the swarm_space cases.
func swvSwarmSpace(t *testing.T, c vcase) {
	key := c.hex("pubkey", "pubkey_hex")
	if len(key) == 33 {
		key = key[1:]
	}
	got := swarm.SwarmSpace(fixed32(t, key))
	if want := c.uint("swarm_space"); got != want {
		t.Fatalf("swarm space %d, want %d", got, want)
	}
}

// swvClosestSwarm checks the closest_swarm cases.
func swvClosestSwarm(t *testing.T, c vcase) {
	var idStrs []string
	c.decode(&idStrs, "swarm_ids")
	ids := make([]uint64, len(idStrs))
	for i, s := range idStrs {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("swarm id %q: %v", s, err)
		}
		ids[i] = v
	}
	id, err := crypto.ParseAccountID(c.str("pubkey"))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := swarm.ClosestSwarm(ids, swarm.AccountSwarmSpace(id))
	if want := c.uint("expected_swarm_id"); !ok || got != want {
		t.Fatalf("closest swarm %d (%v), want %d", got, ok, want)
	}
}

// swvSigMessage checks the sig_message cases.
func swvSigMessage(t *testing.T, c vcase) {
	var p struct {
		Namespace    json.RawMessage `json:"namespace"`
		Timestamp    int64           `json:"timestamp"`
		SigTimestamp int64           `json:"sig_timestamp"`
		Before       int64           `json:"before"`
		Expiry       int64           `json:"expiry"`
		Messages     []string        `json:"messages"`
		Shorten      bool            `json:"shorten"`
		Extend       bool            `json:"extend"`
		Tokens       []string        `json:"tokens"`
	}
	c.decode(&p, "params")
	var ns swarm.Namespace
	all := false
	if len(p.Namespace) > 0 {
		if string(p.Namespace) == `"all"` {
			all = true
		} else {
			n, err := strconv.ParseInt(string(p.Namespace), 10, 16)
			if err != nil {
				t.Fatalf("namespace %s: %v", p.Namespace, err)
			}
			ns = swarm.Namespace(n)
		}
	}
	var tokens [][swarm.SubaccountTokenSize]byte
	for _, s := range p.Tokens {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != swarm.SubaccountTokenSize {
			t.Fatalf("token %q", s)
		}
		tokens = append(tokens, [swarm.SubaccountTokenSize]byte(b))
	}
	now := p.Timestamp
	var req swarm.Request
	switch m := c.str("method"); m {
	case "store":
		now = p.SigTimestamp
		req = swarm.StoreRequest{Namespace: ns, Data: []byte("x"), TTL: time.Hour}
	case "retrieve":
		req = swarm.RetrieveRequest{Namespace: ns}
	case "delete":
		req = swarm.DeleteRequest{Hashes: p.Messages}
	case "delete_all":
		req = swarm.DeleteAllRequest{Namespace: ns, AllNamespaces: all}
	case "delete_before":
		req = swarm.DeleteBeforeRequest{Namespace: ns, AllNamespaces: all, Before: time.UnixMilli(p.Before)}
	case "expire_all":
		req = swarm.ExpireAllRequest{Namespace: ns, AllNamespaces: all, Expiry: time.UnixMilli(p.Expiry)}
	case "expire":
		req = swarm.ExpireRequest{Hashes: p.Messages, Expiry: time.UnixMilli(p.Expiry), Shorten: p.Shorten, Extend: p.Extend}
	case "get_expiries":
		req = swarm.GetExpiriesRequest{Hashes: p.Messages}
	case "revoke_subaccount":
		req = swarm.RevokeSubaccountRequest{Tokens: tokens}
	case "unrevoke_subaccount":
		req = swarm.UnrevokeSubaccountRequest{Tokens: tokens}
	default:
		t.Fatalf("unknown method %q", m)
	}
	if req.Method() != c.str("method") {
		t.Fatalf("method %q", req.Method())
	}
	msg := req.SignatureMessage(now)
	if want := c.hex("message_hex"); !bytes.Equal(msg, want) {
		t.Fatalf("signature message %q, want %q", msg, want)
	}
	if c.has("message_ascii") && string(msg) != c.str("message_ascii") {
		t.Fatalf("signature message %q, want %q", msg, c.str("message_ascii"))
	}
	keys, err := crypto.KeysFromSeed(c.hex("ed25519_seed"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := swarm.EncodeRequest(req, swarm.NewKeysSigner(keys), now)
	if err != nil {
		t.Fatal(err)
	}
	var wire struct {
		Method string `json:"method"`
		Params struct {
			Pubkey    string `json:"pubkey"`
			PubkeyEd  string `json:"pubkey_ed25519"`
			Signature string `json:"signature"`
		} `json:"params"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		t.Fatal(err)
	}
	if wire.Method != c.str("method") || wire.Params.Pubkey != keys.AccountID().String() {
		t.Fatalf("body %s", body)
	}
	if wire.Params.PubkeyEd != c.str("pubkey_ed25519") {
		t.Fatalf("pubkey_ed25519 %q, want %q", wire.Params.PubkeyEd, c.str("pubkey_ed25519"))
	}
	sig, err := base64.StdEncoding.DecodeString(wire.Params.Signature)
	if err != nil || len(wire.Params.Signature) != 88 {
		t.Fatalf("signature %q", wire.Params.Signature)
	}
	if want := c.hex("signature"); !bytes.Equal(sig, want) {
		t.Fatalf("signature %x, want %x", sig, want)
	}
}

// swvMessageHash checks the message_hash cases.
func swvMessageHash(t *testing.T, c vcase) {
	id, err := crypto.ParseAccountID(c.str("pubkey", "pubkey_hex"))
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	if c.has("data_utf8") {
		data = []byte(c.str("data_utf8"))
	} else {
		data = c.hex("data", "data_hex")
	}
	got := swarm.MessageHash(id, swarm.Namespace(c.int("namespace")), data)
	if want := c.str("hash"); got != want {
		t.Fatalf("hash %s, want %s", got, want)
	}
}

// SNS ops of identity.json: name hash and record decryption.
func init() {
	registerVectors("ons_name_hash", snsvONSNameHash)
	registerVectors("ons_decrypt", snsvONSDecrypt)
}

// snsvONSNameHash checks the ons_name_hash cases.
func snsvONSNameHash(t *testing.T, c vcase) {
	h, err := sns.NameHash(c.str("name"))
	if err != nil {
		t.Fatal(err)
	}
	if want := c.b64("hash_b64"); !bytes.Equal(h[:], want) {
		t.Fatalf("name hash %x, want %x", h, want)
	}
}

// snsvONSDecrypt checks the ons_decrypt cases.
func snsvONSDecrypt(t *testing.T, c vcase) {
	var nonce []byte
	if c.has("nonce_hex") {
		nonce = c.hex("nonce_hex")
	}
	id, err := sns.DecryptRecord(c.str("name"), c.hex("ciphertext_hex"), nonce)
	if err != nil {
		t.Fatal(err)
	}
	if want := c.str("session_id"); id.String() != want {
		t.Fatalf("session id %s, want %s", id, want)
	}
	// A different name must not decrypt the record (checked for modern records only: a
	// legacy attempt costs 256 MiB and a second of Argon2id).
	if nonce == nil {
		return
	}
	if _, err := sns.DecryptRecord(c.str("name")+"x", c.hex("ciphertext_hex"), nonce); !errors.Is(err, sns.ErrDecrypt) {
		t.Fatalf("wrong name: %v", err)
	}
}
