package groups_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
)

func mustKeys(b byte) *crypto.Keys {
	k, err := crypto.KeysFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		panic(err)
	}
	return k
}

// An admin creates a group key, rekeys for the members and sends a message; a member loads
// the key message from the group's swarm and reads it.
func Example() {
	admin := groups.NewAdminKey([32]byte{1}) // normally GenerateAdminKey(rand.Reader)
	me, alice := mustKeys(2), mustKeys(3)

	adminKeys, _ := groups.NewKeys(me, admin.PublicKey(), admin)
	keyMsg, err := adminKeys.Rekey([]crypto.AccountID{me.AccountID(), alice.AccountID()})
	if err != nil {
		panic(err)
	}
	ct, _ := adminKeys.EncryptMessage([]byte("hello group"))

	// Alice, after retrieving keyMsg (namespace 12) and ct (namespace 11):
	aliceKeys, _ := groups.NewKeys(alice, admin.PublicKey(), nil)
	found, err := aliceKeys.LoadKeyMessage("hash-of-keyMsg", keyMsg, 1700000000000)
	if err != nil {
		panic(err)
	}
	m, err := aliceKeys.DecryptMessage(ct)
	if err != nil {
		panic(err)
	}
	fmt.Println(found, string(m.Plaintext), m.Sender == me.AccountID())
	// Output: true hello group true
}

// The admin issues auth data to a member; the member signs its storage requests with it.
func ExampleAdminKey_SubaccountAuth() {
	admin := groups.NewAdminKey([32]byte{1})
	member := mustKeys(3)
	auth, err := admin.SubaccountAuth(member.AccountID(), groups.SubaccountFlags(true, false))
	if err != nil {
		panic(err)
	}
	fmt.Println("auth data valid:", groups.VerifyAuthData(admin.PublicKey(), member.Ed25519PublicKey(), auth) == nil)

	msg := []byte("retrieve111700000000000") // "retrieve" ‖ namespace ‖ timestamp
	sig, _ := groups.SignSubaccount(member, auth, msg)
	fmt.Println("node accepts:", groups.VerifySubaccountRequest(admin.PublicKey(), sig, msg, groups.FlagRead) == nil)
	tok, _ := admin.SubaccountToken(member.AccountID(), auth.Flags())
	fmt.Println("token to revoke matches:", tok == sig.Token)
	// Output:
	// auth data valid: true
	// node accepts: true
	// token to revoke matches: true
}

// An admin writes the group's Info config; members decrypt it with any group key.
func ExampleConfig() {
	admin := groups.NewAdminKey([32]byte{1})
	info, _ := groups.NewGroupConfig(admin.PublicKey(), admin)
	_ = info.Update(groups.Info{Name: "Bots", Created: 1700000000}.Apply)
	serialized, seqno, _ := info.Push()
	groupKey := [32]byte{9} // the newest key from Keys.EncryptionKey
	payload, _ := groups.EncodeConfigPayload(serialized, groupKey, groups.DomainGroupInfo, true)

	// A member (read-only copy):
	ro, _ := groups.NewGroupConfig(admin.PublicKey(), nil)
	plain, _ := groups.DecryptGroupConfig(payload, [][32]byte{groupKey}, groups.DomainGroupInfo)
	_, _ = ro.Merge(plain)
	fmt.Println(seqno, groups.InfoFromData(ro.Data()).Name, len(payload)%256)
	// Output: 1 Bots 0
}

func ExampleMultiEncrypt() {
	sender, bob := mustKeys(1), mustKeys(2)
	var nonce [24]byte // random in real use
	cts, _ := groups.MultiEncrypt([][]byte{[]byte("hi")}, [][32]byte{bob.X25519PublicKey()}, nonce,
		sender.X25519PrivateKey(), sender.X25519PublicKey(), "example domain")
	pt, ok := groups.MultiDecrypt(cts, nonce, bob.X25519PrivateKey(), bob.X25519PublicKey(), sender.X25519PublicKey(), "example domain")
	fmt.Println(string(pt), ok)
	// Output: hi true
}

// Two devices of one account change their contacts at the same time; each merges the
// other's push and both end up with the same message, holding both changes.
func ExampleUserConfig() {
	account := mustKeys(5)
	bob, carol := mustKeys(6).AccountID(), mustKeys(7).AccountID()
	phone, _ := groups.OpenUserConfig(account, groups.DomainContacts, nil)
	bot, _ := groups.OpenUserConfig(account, groups.DomainContacts, nil)
	now := time.Unix(1_800_000_000, 0)

	_ = phone.Update(func(d groups.Dict) { _ = groups.SetContact(d, groups.Contact{ID: bob, Approved: true}) })
	_ = bot.Update(func(d groups.Dict) { _ = groups.SetContact(d, groups.Contact{ID: carol, Blocked: true}) })
	fromPhone, _ := phone.PrepareStore(now)
	phone.ConfirmPushed(fromPhone.Seqno, "hash-phone") // the swarm's hash of the stored message
	fromBot, _ := bot.PrepareStore(now)
	bot.ConfirmPushed(fromBot.Seqno, "hash-bot")

	_, _ = phone.MergeStored([]groups.ConfigInput{{Hash: "hash-bot", Data: fromBot.Data}})
	_, _ = bot.MergeStored([]groups.ConfigInput{{Hash: "hash-phone", Data: fromPhone.Data}})
	a, _ := phone.PrepareStore(now)
	b, _ := bot.PrepareStore(now)
	fmt.Println(len(groups.ContactsFromData(bot.Data())), a.Seqno, bytes.Equal(a.Data, b.Data), b.Obsolete)
	// Output: 2 2 true [hash-bot hash-phone]
}
