package bencode_test

import (
	"fmt"

	"github.com/sessiongo/sdk/internal/bencode"
)

func ExampleMarshal() {
	b, err := bencode.Marshal(bencode.Dict{
		{Key: "n", Value: "name"},
		{Key: "#", Value: 1},
		{Key: "l", Value: []any{1, []byte("x")}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", b)
	// Output: d1:#i1e1:lli1e1:xe1:n4:namee
}

func ExampleDecodePrefix() {
	frame := []byte(`l12:{"code":200}2:hie` + "more")
	v, rest, err := bencode.DecodePrefix(frame)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s | %s | rest %q\n", v.List[0].Str, v.List[1].Str, rest)
	// Output: {"code":200} | hi | rest "more"
}

func ExampleValue_Lookup() {
	v, err := bencode.Decode([]byte("d1:#i7e1:~3:sige"))
	if err != nil {
		panic(err)
	}
	e, _, _ := v.Lookup("~")
	fmt.Printf("signed bytes %q, signature %q\n", v.Raw[:e.Offset], e.Value.Str)
	// Output: signed bytes "d1:#i7e", signature "sig"
}
