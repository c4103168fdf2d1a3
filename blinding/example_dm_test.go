package blinding_test

import (
	"fmt"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
)

// Alice writes to Bob, whom she met in a community, through the server's inbox; Bob reads it
// and learns Alice's real Account ID; Alice can read her own outbox copy.
func ExampleEncryptDM() {
	alice, _ := crypto.KeysFromSeed([]byte("alice's 16 bytes"))
	bob, _ := crypto.KeysFromSeed([]byte("bob's 16 bytes!!"))
	aliceKP, _ := blinding.Blind15KeyPair(alice, serverPK)
	bobKP, _ := blinding.Blind15KeyPair(bob, serverPK)

	// Alice knows only Bob's blinded ID, as the community shows it.
	data, err := blinding.EncryptDM(alice, serverPK, bobKP.ID(), []byte("hi Bob"), nil)
	if err != nil {
		panic(err)
	}
	// POST /inbox/<bob's ID> {"message": base64(data)}; the server delivers it to Bob with
	// sender = Alice's blinded ID.
	msg, from, err := blinding.DecryptDM(bob, serverPK, aliceKP.ID(), bobKP.ID(), data)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s (from Alice: %v)\n", msg, from == alice.AccountID())
	// Output: hi Bob (from Alice: true)
}

func ExampleDecryptDM() {
	alice, _ := crypto.KeysFromSeed([]byte("alice's 16 bytes"))
	bob, _ := crypto.KeysFromSeed([]byte("bob's 16 bytes!!"))
	aliceKP, _ := blinding.Blind25KeyPair(alice, serverPK)
	bobKP, _ := blinding.Blind25KeyPair(bob, serverPK)
	data, _ := blinding.EncryptDM(alice, serverPK, bobKP.ID(), []byte("see you"), nil)

	// Alice reads her own copy from GET /outbox: sender is her ID, recipient Bob's.
	msg, from, err := blinding.DecryptDM(alice, serverPK, aliceKP.ID(), bobKP.ID(), data)
	fmt.Printf("%s %v %v\n", msg, from == alice.AccountID(), err)

	// A tampered message is refused.
	data[10] ^= 1
	_, _, err = blinding.DecryptDM(bob, serverPK, aliceKP.ID(), bobKP.ID(), data)
	fmt.Println(err)
	// Output:
	// see you true <nil>
	// blinding: cannot decrypt message: authentication failed
}
