package bencode

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

// encodeTree re-encodes a decoded value from its structure (not from Raw), so that round-trip
// tests check that decoding kept every byte.
func encodeTree(t testing.TB, v Value) []byte {
	t.Helper()
	switch v.Kind {
	case KindInt:
		if v.bigUint {
			u, err := v.Uint64()
			if err != nil {
				t.Fatal(err)
			}
			return AppendUint(nil, u)
		}
		return AppendInt(nil, v.Int)
	case KindString:
		return AppendBytes(nil, v.Str)
	case KindList:
		out := []byte{'l'}
		for _, e := range v.List {
			out = append(out, encodeTree(t, e)...)
		}
		return append(out, 'e')
	case KindDict:
		out := []byte{'d'}
		for _, e := range v.Dict {
			if !bytes.Equal(v.Raw[:e.Offset], out) {
				t.Fatalf("entry %q: Offset %d does not match the encoding so far", e.Key, e.Offset)
			}
			out = AppendBytes(out, e.Key)
			out = append(out, encodeTree(t, e.Value)...)
		}
		return append(out, 'e')
	}
	t.Fatalf("invalid kind %v", v.Kind)
	return nil
}

func TestDecodeValid(t *testing.T) {
	cases := []string{
		"i0e", "i-1e", "i42e", "i9223372036854775807e", "i-9223372036854775808e",
		"i18446744073709551615e", "0:", "4:spam", "le", "de", "li1e3:abce",
		"d1:#i0e1:&de1:<le1:=dee", "d0:i1e1:a0:e", "d3:bar4:spam3:fooi42ee",
		"lld1:ali1eeeee",
	}
	for _, c := range cases {
		v, err := Decode([]byte(c))
		if err != nil {
			t.Errorf("%q: %v", c, err)
			continue
		}
		if string(v.Raw) != c {
			t.Errorf("%q: Raw = %q", c, v.Raw)
		}
		if got := encodeTree(t, v); string(got) != c {
			t.Errorf("%q: re-encoded as %q", c, got)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"", ErrUnexpectedEOF},
		{"i", ErrUnexpectedEOF},
		{"ie", ErrSyntax},
		{"i-e", ErrSyntax},
		{"i-0e", ErrSyntax},
		{"i01e", ErrSyntax},
		{"i-01e", ErrSyntax},
		{"i1x", ErrSyntax},
		{"i+1e", ErrSyntax},
		{"i18446744073709551616e", ErrIntRange},
		{"i-9223372036854775809e", ErrIntRange},
		{"01:a", ErrSyntax},
		{"5:abc", ErrUnexpectedEOF},
		{"3", ErrUnexpectedEOF},
		{"3x", ErrSyntax},
		{"99999999999999999999:", ErrSyntax},
		{"9999999999999999999:", ErrUnexpectedEOF},
		{"l", ErrUnexpectedEOF},
		{"li1e", ErrUnexpectedEOF},
		{"d", ErrUnexpectedEOF},
		{"d1:a", ErrUnexpectedEOF},
		{"di1ei2ee", ErrSyntax},
		{"d1:bi1e1:ai2ee", ErrKeyOrder},
		{"d1:ai1e1:ai2ee", ErrDuplicateKey},
		{"x", ErrSyntax},
		{"e", ErrSyntax},
		{"i1ei2e", ErrTrailingData},
		{strings.Repeat("l", 65) + strings.Repeat("e", 65), ErrTooDeep},
	}
	for _, c := range cases {
		_, err := Decode([]byte(c.in))
		if !errors.Is(err, c.want) {
			t.Errorf("%q: got %v, want %v", c.in, err, c.want)
		}
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Errorf("%q: error %T is not *Error", c.in, err)
		}
	}
}

func TestOptions(t *testing.T) {
	unsorted := []byte("d1:bi1e1:ai2e1:ai3ee")
	v, err := Options{AllowUnsortedKeys: true}.Decode(unsorted)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := v.Get("a"); !ok || a.Int != 2 {
		t.Fatalf("Get(a) = %v, %v", a, ok)
	}
	deep := []byte("lllleeee")
	if _, err := (Options{MaxDepth: 3}).Decode(deep); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("depth 4 with limit 3: %v", err)
	}
	if _, err := (Options{MaxDepth: 4}).Decode(deep); err != nil {
		t.Fatalf("depth 4 with limit 4: %v", err)
	}
	if _, err := (Options{MaxSize: 3}).Decode([]byte("4:spam")); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("size limit: %v", err)
	}
}

func TestDecodePrefix(t *testing.T) {
	in := []byte(`l58:{"code":200,"headers":{"content-type":"application/json"}}11:{"id": 123}erest`)
	v, rest, err := DecodePrefix(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(rest) != "rest" {
		t.Fatalf("rest = %q", rest)
	}
	if v.Kind != KindList || len(v.List) != 2 || string(v.List[1].Str) != `{"id": 123}` {
		t.Fatalf("bad value %+v", v)
	}
}

func TestIntAccessors(t *testing.T) {
	v, _ := Decode([]byte("i18446744073709551615e"))
	if _, err := v.Int64(); !errors.Is(err, ErrIntRange) {
		t.Fatalf("Int64 of 2^64-1: %v", err)
	}
	if u, err := v.Uint64(); err != nil || u != math.MaxUint64 {
		t.Fatalf("Uint64 = %d, %v", u, err)
	}
	v, _ = Decode([]byte("i-5e"))
	if _, err := v.Uint64(); !errors.Is(err, ErrIntRange) {
		t.Fatalf("Uint64 of -5: %v", err)
	}
	if n, err := v.Int64(); err != nil || n != -5 {
		t.Fatalf("Int64 = %d, %v", n, err)
	}
	if _, err := v.Bytes(); !errors.Is(err, ErrType) {
		t.Fatalf("Bytes of int: %v", err)
	}
	s, _ := Decode([]byte("1:x"))
	if _, err := s.Int64(); !errors.Is(err, ErrType) {
		t.Fatalf("Int64 of string: %v", err)
	}
}

func TestMarshal(t *testing.T) {
	inner, _ := Decode([]byte("li1ee"))
	cases := []struct {
		in   any
		want string
	}{
		{0, "i0e"},
		{int64(-7), "i-7e"},
		{uint64(math.MaxUint64), "i18446744073709551615e"},
		{"spam", "4:spam"},
		{[]byte{}, "0:"},
		{[3]byte{'a', 'b', 'c'}, "3:abc"},
		{[]any{1, "a", []byte("b")}, "li1e1:a1:be"},
		{[][]byte{[]byte("x"), []byte("yy")}, "l1:x2:yye"},
		{map[string]any{"z": 1, "a": "x", "": []int{}}, "d0:le1:a1:x1:zi1ee"},
		{Dict{{"~", 1}, {"#", 2}, {"a", Raw("i3e")}}, "d1:#i2e1:ai3e1:~i1ee"},
		{inner, "li1ee"},
		{[]any{Dict{}, map[string]int{}}, "ldedee"},
	}
	for _, c := range cases {
		got, err := Marshal(c.in)
		if err != nil {
			t.Errorf("%#v: %v", c.in, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%#v: got %q, want %q", c.in, got, c.want)
		}
	}
	bad := []any{nil, 1.5, true, map[int]int{1: 1}, Dict{{"a", 1}, {"a", 2}}, []any{nil}, Value{}}
	for _, b := range bad {
		if _, err := Marshal(b); err == nil {
			t.Errorf("%#v: no error", b)
		}
	}
}

func TestEntryOffset(t *testing.T) {
	in := []byte("d1:#i1e1:ai2e1:~3:sige")
	v, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	e, i, ok := v.Lookup("~")
	if !ok || i != 2 {
		t.Fatalf("Lookup(~) = %v %d %v", e, i, ok)
	}
	if got := string(v.Raw[:e.Offset]); got != "d1:#i1e1:ai2e" {
		t.Fatalf("signed prefix = %q", got)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"i0e", "d1:#i0e1:&de1:<le1:=dee", "li1e3:abce", "d1:a", "i-0e", "lllleeee", "d0:de"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, rest, err := DecodePrefix(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		if len(v.Raw)+len(rest) != len(data) || !bytes.Equal(v.Raw, data[:len(v.Raw)]) {
			t.Fatalf("Raw/rest do not split the input")
		}
		// Round trip: the structure re-encodes to exactly the source bytes.
		if got := encodeTree(t, v); !bytes.Equal(got, v.Raw) {
			t.Fatalf("re-encoded %q as %q", v.Raw, got)
		}
		// Marshal of the decoded value is its Raw bytes.
		m, err := Marshal(v)
		if err != nil || !bytes.Equal(m, v.Raw) {
			t.Fatalf("Marshal(Value) = %q, %v", m, err)
		}
	})
}

// FuzzRoundTrip builds values from fuzz input, encodes them and checks that decoding gives
// them back.
func FuzzRoundTrip(f *testing.F) {
	f.Add(int64(0), []byte("x"), "k", uint8(2))
	f.Add(int64(-1), []byte{}, "", uint8(0))
	f.Fuzz(func(t *testing.T, n int64, s []byte, key string, depth uint8) {
		key = "k" + key // never collides with "l"
		var v any = Dict{{key, n}, {key + "\x00", s}, {"l", []any{n, s, key}}}
		for i := 0; i < int(depth%8); i++ {
			v = []any{v, Dict{{key, v}}}
		}
		enc, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := Decode(enc)
		if err != nil {
			t.Fatalf("decode %q: %v", enc, err)
		}
		if got := encodeTree(t, dec); !bytes.Equal(got, enc) {
			t.Fatalf("round trip %q -> %q", enc, got)
		}
		inner := dec
		for i := 0; i < int(depth%8); i++ {
			inner = inner.List[0]
		}
		if x, ok := inner.Get(key); !ok || x.Int != n {
			t.Fatalf("lost int %d", n)
		}
		if x, ok := inner.Get(key + "\x00"); !ok || !bytes.Equal(x.Str, s) {
			t.Fatalf("lost bytes")
		}
	})
}
