package session_test

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/session"
)

func exampleKeys() (alice, bob *crypto.Keys) {
	alice, _ = crypto.KeysFromSeed([]byte("alice's 16 bytes"))
	bob, _ = crypto.KeysFromSeed([]byte("bob's 16 bytes!!"))
	return alice, bob
}

func ExampleSeal() {
	alice, bob := exampleKeys()
	sealed, err := session.Seal(alice, bob.AccountID(), []byte("serialized Content"))
	if err != nil {
		panic(err)
	}
	// 18 bytes pad to 160; the protocol adds 144.
	fmt.Println(len(sealed))
	// Output: 304
}

func ExampleOpen() {
	alice, bob := exampleKeys()
	sealed, _ := session.Seal(alice, bob.AccountID(), []byte("serialized Content"))

	plaintext, sender, err := session.Open(bob, sealed)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\nfrom alice: %v\n", plaintext, sender == alice.AccountID())
	// Output:
	// serialized Content
	// from alice: true
}

func ExamplePad() {
	padded := session.Pad([]byte("hello"))
	fmt.Println(len(padded), len(session.PadDesktop([]byte("hello"))))
	msg, _ := session.Unpad(padded)
	fmt.Printf("%s\n", msg)
	// Output:
	// 160 159
	// hello
}

func ExampleEncodeMessage() {
	alice, bob := exampleKeys()
	content := &pb.Content{DataMessage: &pb.DataMessage{Body: proto.String("hi bob")}}
	data, err := session.EncodeMessage(alice, bob.AccountID(), content, time.UnixMilli(1700000000000))
	if err != nil {
		panic(err)
	}
	// data is what a storage-server store request carries for bob, namespace 0.
	in, err := session.DecodeMessage(bob, data)
	if err != nil {
		panic(err)
	}
	fmt.Println(in.Content.GetDataMessage().GetBody())
	fmt.Println(in.Sender == alice.AccountID(), in.SentAt().UTC().Format(time.RFC3339))
	// Output:
	// hi bob
	// true 2023-11-14T22:13:20Z
}
