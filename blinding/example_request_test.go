package blinding_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/sessiongo/sdk/blinding"
)

// A bot signs a request to a community with its 15-blinded key.
func ExampleNewRequestSigner() {
	kp, _ := blinding.Blind15KeyPair(exampleKeys(), serverPK)
	signer, err := blinding.NewRequestSigner(kp)
	if err != nil {
		panic(err)
	}
	h, err := signer.Sign("GET", "/room/the-best-room/messages/recent?limit=25", nil)
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest("GET", "http://community.example/room/the-best-room/messages/recent?limit=25", nil)
	h.Set(req.Header)
	fmt.Println(req.Header.Get("X-SOGS-Pubkey"))
	// Output: 15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844
}

func ExampleNewUnblindedRequestSigner() {
	signer := blinding.NewUnblindedRequestSigner(exampleKeys(), serverPK)
	fmt.Println(signer.Pubkey().Prefix())
	// Output: 00
}

func ExampleRequestSigner_SignWith() {
	kp, _ := blinding.Blind15KeyPair(exampleKeys(), serverPK)
	signer, _ := blinding.NewRequestSigner(kp)
	h := signer.SignWith("POST", "/room/r/message", []byte(`{"data":"..."}`), [16]byte{1, 2, 3}, time.Unix(1700000000, 0))
	fmt.Println(h.Timestamp, h.Nonce)
	// Output: 1700000000 AQIDAAAAAAAAAAAAAAAAAA==
}

// A community server (such as the devnet one) checks requests.
func ExampleVerifier_Verify() {
	v := blinding.NewVerifier(serverPK) // requires 15 keys, ±24 h, remembers nonces
	now := time.Unix(1700000000, 0)
	v.Now = func() time.Time { return now }

	kp, _ := blinding.Blind15KeyPair(exampleKeys(), serverPK)
	signer, _ := blinding.NewRequestSigner(kp)
	h := signer.SignWith("GET", "/rooms", nil, [16]byte{42}, now)

	user, err := v.Verify(h, "GET", "/rooms", nil)
	fmt.Println(user == kp.ID(), err)

	// The same request again is a replay.
	_, err = v.Verify(h, "GET", "/rooms", nil)
	var re *blinding.RequestError
	if errors.As(err, &re) {
		fmt.Println(re.Status(), re.Reason)
	}

	// No headers at all: anonymous.
	_, err = v.Verify(blinding.Headers{}, "GET", "/rooms", nil)
	fmt.Println(errors.Is(err, blinding.ErrNoAuth))
	// Output:
	// true <nil>
	// 425 X-SOGS-Nonce cannot be reused
	// true
}

func ExampleHeadersFromHTTP() {
	kp, _ := blinding.Blind15KeyPair(exampleKeys(), serverPK)
	signer, _ := blinding.NewRequestSigner(kp)
	h := signer.SignWith("GET", "/rooms", nil, [16]byte{1}, time.Unix(1700000000, 0))
	hdr := http.Header{}
	h.Set(hdr)
	fmt.Println(blinding.HeadersFromHTTP(hdr) == h)
	// Output: true
}

func ExampleHeadersFromMap() {
	// Headers of an onion v4 request arrive as JSON, in any case.
	h := blinding.HeadersFromMap(map[string]string{"x-sogs-timestamp": "1700000000"})
	fmt.Println(h.Timestamp)
	// Output: 1700000000
}

func ExampleSignedPath() {
	u, _ := url.Parse("https://community.example/room/caf%C3%A9/messages/since/5?t=r&reactors=5")
	fmt.Println(blinding.SignedPath(u))
	// Output: /room/café/messages/since/5?t=r&reactors=5
}

func ExampleNewNonceCache() {
	c := blinding.NewNonceCache(48 * time.Hour)
	kp, _ := blinding.Blind15KeyPair(exampleKeys(), serverPK)
	now := time.Unix(1700000000, 0)
	fmt.Println(c.Use(kp.ID(), [16]byte{1}, now), c.Use(kp.ID(), [16]byte{1}, now.Add(time.Hour)))
	// Output: true false
}
