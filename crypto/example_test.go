package crypto_test

import (
	"encoding/hex"
	"fmt"

	"github.com/sessiongo/sdk/crypto"
)

func ExampleKeysFromSeed() {
	seed, _ := hex.DecodeString("39038c8988db02c1af44e8c847bd9713")
	keys, err := crypto.KeysFromSeed(seed)
	if err != nil {
		panic(err)
	}
	fmt.Println(keys.AccountID())
	fmt.Println(keys) // secrets are never printed
	// Output:
	// 054830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69
	// crypto.Keys{054830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69}
}

func ExampleDecodeMnemonic() {
	seed, err := crypto.DecodeMnemonic("puffin luxury annoyed rustled memoir faxed smidgen puddle kiwi nylon utopia zinger kiwi")
	if err != nil {
		panic(err)
	}
	keys, _ := crypto.KeysFromSeed(seed[:])
	fmt.Println(keys.AccountID())
	_, err = crypto.DecodeMnemonic("puffin luxury annoyed rustled memoir faxed smidgen puddle kiwi nylon utopia zinger")
	fmt.Println(err)
	// Output:
	// 054830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69
	// crypto: a Recovery Password has 13 words: got 12; the last (checksum) word is missing
}

func ExampleParseAccountID() {
	_, err := crypto.ParseAccountID("064830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69")
	fmt.Println(err)
	id, _ := crypto.ParseAccountID("054830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69")
	fmt.Println(id.Prefix() == crypto.PrefixStandard)
	// Output:
	// crypto: invalid Account ID "064830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69": unknown prefix (prefix "06" is not 00, 03, 05, 07, 15 or 25)
	// true
}
