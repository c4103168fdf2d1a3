package blinding_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
)

// A community bot's view: its own blinded identity on a server, signed requests, recognising a
// known user, and a private message to them through the inbox.
func Example() {
	bot, _ := crypto.KeysFromSeed([]byte("bot seed 16bytes"))
	me, _ := blinding.Blind15KeyPair(bot, serverPK)
	signer, _ := blinding.NewRequestSigner(me)
	h, _ := signer.Sign("GET", "/room/lobby/messages/recent?limit=25", nil)
	fmt.Println(h.Pubkey == me.ID().String())

	// A message in the room was posted by a 15 ID; is it our friend?
	friend, _ := crypto.KeysFromSeed([]byte("friend's seed!!!"))
	theirs, _ := blinding.Blind15KeyPair(friend, serverPK)
	ok, _ := blinding.MatchesSessionID(friend.AccountID(), theirs.ID(), serverPK)
	fmt.Println(ok)

	// Write to them privately through the server's inbox.
	data, _ := blinding.EncryptDM(bot, serverPK, theirs.ID(), []byte("hello"), nil)
	msg, from, _ := blinding.DecryptDM(friend, serverPK, me.ID(), theirs.ID(), data)
	fmt.Println(string(msg), from == bot.AccountID())
	// Output:
	// true
	// true
	// hello true
}

func ExampleRequestSigner_Sign() {
	kp, _ := blinding.Blind15KeyPair(exampleKeys(), serverPK)
	signer, _ := blinding.NewRequestSigner(kp)
	// Tests can pin the nonce and the clock.
	signer.Rand = bytes.NewReader(make([]byte, blinding.NonceSize))
	signer.Now = func() time.Time { return time.Unix(1700000000, 0) }
	h, err := signer.Sign("GET", "/capabilities", nil)
	fmt.Println(h.Nonce, h.Timestamp, err)
	// Output: AAAAAAAAAAAAAAAAAAAAAA== 1700000000 <nil>
}

func ExampleHeaders_Map() {
	kp, _ := blinding.Blind15KeyPair(exampleKeys(), serverPK)
	signer, _ := blinding.NewRequestSigner(kp)
	h := signer.SignWith("GET", "/rooms", nil, [16]byte{}, time.Unix(1700000000, 0))
	var names []string
	for name := range h.Map() { // e.g. the "headers" of an onion v4 request
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Println(names)
	// Output: [X-SOGS-Nonce X-SOGS-Pubkey X-SOGS-Signature X-SOGS-Timestamp]
}

// A server that also accepts unblinded keys and a shorter clock window, with a ban list.
func ExampleNewVerifier() {
	v := blinding.NewVerifier(serverPK)
	v.RequireBlinded = false
	v.Window = time.Hour
	banned := map[crypto.AccountID]bool{}
	v.Banned = func(user crypto.AccountID) bool { return banned[user] }

	keys := exampleKeys()
	signer := blinding.NewUnblindedRequestSigner(keys, serverPK)
	h, _ := signer.Sign("GET", "/rooms", nil)
	user, err := v.Verify(h, "GET", "/rooms", nil)
	fmt.Println(user == keys.AccountID(), err) // unblinded users are known by their 05 ID
	// Output: true <nil>
}

func ExampleRequestError() {
	v := blinding.NewVerifier(serverPK)
	kp, _ := blinding.Blind15KeyPair(exampleKeys(), serverPK)
	signer, _ := blinding.NewRequestSigner(kp)
	h := signer.SignWith("GET", "/rooms", nil, [16]byte{1}, time.Unix(1000, 0)) // a stale clock
	_, err := v.Verify(h, "GET", "/rooms", nil)
	var re *blinding.RequestError
	fmt.Println(errors.Is(err, blinding.ErrRequestAuth), errors.As(err, &re) && re.Reason == blinding.ReasonClockSkew, re.Status())
	// Output: true true 425
}

func ExampleReason_Status() {
	fmt.Println(blinding.ReasonInvalidSignature.Status(), blinding.ReasonBanned.Status(), blinding.ReasonBadNonce.Status())
	// Output: 401 403 400
}

func ExampleKeyPair_PublicKey() {
	kp, _ := blinding.Blind25KeyPair(exampleKeys(), serverPK)
	pub := kp.PublicKey()
	sig := kp.Sign([]byte("post"))
	fmt.Println(ed25519.Verify(pub[:], []byte("post"), sig[:]), kp.ID().Key() == pub, kp.ServerPK() == serverPK)
	// Output: true true true
}

func ExampleVersionKeyPair_ID() {
	v := blinding.NewVersionKeyPair(exampleKeys())
	fmt.Println(v.ID().Prefix(), v.ID().Key() == v.PublicKey(), len(v.PrivateKey()))
	// Output: 07 true 64
}
