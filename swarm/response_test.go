package swarm

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"github.com/sessiongo/sdk/crypto"
	"strings"
	"testing"
)

func TestParseRetrieve(t *testing.T) {
	res, err := ParseRetrieve([]byte(`{"messages":[{"hash":"` + hashA + `","timestamp":1700000000000,"expiration":"1700086400000","data":"YWJjIDEyMw=="}],"more":true,"t":1700000000500,"hf":[19,4]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 1 || !res.More || res.T != 1700000000500 || string(res.Messages[0].Data) != "abc 123" ||
		res.Messages[0].Expiration.UnixMilli() != 1700086400000 {
		t.Fatalf("%+v", res)
	}
	if res, err := ParseRetrieve([]byte(`{"messages":[],"more":false}`)); err != nil || len(res.Messages) != 0 {
		t.Fatal(err)
	}
	for _, bad := range []string{`{}`, `[]`, `{"messages":[{"hash":"x","timestamp":1,"expiration":1,"data":""}]}`,
		`{"messages":[{"hash":"` + hashA + `","timestamp":1,"expiration":1,"data":"!!"}]}`,
		`{"messages":[{"hash":"` + hashA + `","timestamp":"x","expiration":1,"data":""}]}`} {
		if _, err := ParseRetrieve([]byte(bad)); !errors.Is(err, ErrInvalidResponse) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestParseSwarmResult(t *testing.T) {
	body := `{"swarm":{
	 "aa":{"hash":"` + hashA + `","signature":"AAAA","expiry":1700086400000,"t":1},
	 "bb":{"hash":"` + hashA + `","signature":"AAAA","expiry":1700086400000,"already":true},
	 "cc":{"failed":true,"timeout":true},
	 "dd":{"failed":true,"code":"503","reason":"busy"},
	 "ee":{"deleted":{"0":["h1"],"2":["h2"]},"updated":["u"],"expiry":[1,2],"unchanged":{"h":5},"count":2}
	},"hash":"` + hashA + `","t":1700000000123,"hf":[19,4]}`
	res, err := ParseSwarmResult([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if res.Succeeded() != 3 || res.T != 1700000000123 || res.Hash != hashA || len(res.Members()) != 5 || res.Members()[0] != "aa" {
		t.Fatalf("%+v", res)
	}
	if !res.Swarm["bb"].Already || len(res.Swarm["aa"].Signature) != 3 || res.Swarm["dd"].Code != 503 || !res.Swarm["cc"].Timeout {
		t.Fatalf("%+v", res.Swarm)
	}
	ee := res.Swarm["ee"]
	if len(ee.DeletedByNamespace) != 2 || len(ee.Updated) != 1 || len(ee.Expiries) != 2 || ee.Unchanged["h"] != 5 || ee.Count != 2 {
		t.Fatalf("%+v", ee)
	}
	for _, bad := range []string{`{}`, `{"swarm":{"a":{"signature":"!"}}}`, `{"swarm":{"a":{"expiry":"x"}}}`, `{"swarm":{"a":{"deleted":5}}}`, `{"swarm":{"a":[]}}`} {
		if _, err := ParseSwarmResult([]byte(bad)); !errors.Is(err, ErrInvalidResponse) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestParseBatchAndOthers(t *testing.T) {
	res, err := ParseBatch([]byte(`{"results":[{"code":200,"body":{"t":5}},{"code":421,"body":"wrong swarm"}]}`))
	if err != nil || len(res) != 2 || !res[0].OK() || res[0].Err() != nil {
		t.Fatalf("%v %v", res, err)
	}
	if err := res[1].Err(); !errors.Is(err, ErrWrongSwarm) || string(err.(*NodeError).Body) != "wrong swarm" {
		t.Fatalf("%v", err)
	}
	if _, err := ParseBatch([]byte(`{"results":[{"code":"x"}]}`)); !errors.Is(err, ErrInvalidResponse) {
		t.Fatal(err)
	}
	if _, err := ParseBatch([]byte(`{}`)); !errors.Is(err, ErrInvalidResponse) {
		t.Fatal(err)
	}
	exp, err := ParseExpiries([]byte(`{"expiries":{"` + hashA + `":1700000000000}}`))
	if err != nil || exp[hashA].UnixMilli() != 1700000000000 {
		t.Fatal(exp, err)
	}
	if _, err := ParseExpiries([]byte(`{}`)); !errors.Is(err, ErrInvalidResponse) {
		t.Fatal(err)
	}
	info, err := ParseInfo([]byte(`{"version":[2,8,0],"timestamp":5,"t":6,"hf":[19,4]}`))
	if err != nil || info.T != 6 || len(info.Version) != 3 {
		t.Fatal(info, err)
	}
	if _, err := ParseInfo([]byte(`{"version":[2,8,0]}`)); !errors.Is(err, ErrInvalidResponse) {
		t.Fatal(err)
	}
}

func TestCheckSignaturesStore(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pk := hex.EncodeToString(priv.Public().(ed25519.PublicKey))
	other := hex.EncodeToString(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey))
	good := ed25519.Sign(priv, []byte(hashA))
	res := &SwarmResult{Swarm: map[string]NodeResult{
		pk:       {Hash: hashA, Signature: good},
		other:    {Hash: hashA, Signature: good}, // signed by someone else
		"zz":     {Hash: hashA, Signature: good}, // not a key
		"failed": {Failed: true},
	}}
	bad := res.CheckSignatures(crypto.AccountID{}, StoreRequest{}, 0)
	if len(bad) != 2 || bad[0] != other || bad[1] != "zz" {
		t.Fatalf("bad %v", bad)
	}
	if res.Succeeded() != 1 || res.Swarm[other].Reason != "bad node signature" || !res.Swarm["zz"].Failed {
		t.Fatalf("%+v", res)
	}
	// A member signing another hash than it reports is caught too.
	wrong := &SwarmResult{Swarm: map[string]NodeResult{pk: {Hash: strings.Repeat("b", 43), Signature: good}}}
	if bad := wrong.CheckSignatures(crypto.AccountID{}, StoreRequest{}, 0); len(bad) != 1 {
		t.Fatalf("bad %v", bad)
	}
	// Requests that are not recursive have nothing to check.
	fresh := &SwarmResult{Swarm: map[string]NodeResult{other: {Hash: hashA, Signature: good}}}
	if bad := fresh.CheckSignatures(crypto.AccountID{}, RetrieveRequest{}, 0); len(bad) != 0 || fresh.Succeeded() != 1 {
		t.Fatalf("bad %v", bad)
	}
}
