package session

import (
	"bytes"
	"errors"
	"testing"
)

func TestPadSizes(t *testing.T) {
	for _, c := range []struct{ n, lib, desktop int }{
		{0, 160, 159},
		{1, 160, 159},
		{157, 160, 159},
		{158, 160, 159},
		{159, 320, 319},
		{160, 320, 319},
		{300, 320, 319},
		{318, 320, 319},
		{319, 480, 479},
		{1000, 1120, 1119},
	} {
		msg := bytes.Repeat([]byte{0xaa}, c.n)
		for _, p := range []struct {
			name string
			pad  func([]byte) []byte
			want int
		}{{"libsession", Pad, c.lib}, {"desktop", PadDesktop, c.desktop}} {
			out := p.pad(msg)
			if len(out) != p.want {
				t.Errorf("%s(%d bytes) = %d bytes, want %d", p.name, c.n, len(out), p.want)
				continue
			}
			if !bytes.Equal(out[:c.n], msg) || out[c.n] != 0x80 || bytes.ContainsFunc(out[c.n+1:], func(r rune) bool { return r != 0 }) {
				t.Errorf("%s(%d bytes): not msg || 0x80 || zeros", p.name, c.n)
			}
			back, err := Unpad(out)
			if err != nil || !bytes.Equal(back, msg) {
				t.Errorf("%s(%d bytes): unpad gave %d bytes, %v", p.name, c.n, len(back), err)
			}
		}
	}
}

func TestUnpad(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"abc\x80", "abc"},
		{"abc\x80\x00\x00", "abc"},
		{"\x80", ""},
		{"\x80\x00", ""},
		{"ab\x80c\x80\x00", "ab\x80c"}, // only the last 0x80 counts
		{"abc", "abc"},                 // unpadded: as is
		{"abc\x00\x00", "abc\x00\x00"}, // no 0x80 before the zeros: as is
		{"a\x80\x01", "a\x80\x01"},     // last non-zero byte is not 0x80: as is
	} {
		got, err := Unpad([]byte(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("Unpad(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "\x00", "\x00\x00\x00"} {
		if _, err := Unpad([]byte(in)); !errors.Is(err, ErrInvalidPadding) {
			t.Errorf("Unpad(%q): %v", in, err)
		}
	}
	// The result cannot be appended into the padding.
	in := []byte("ab\x80\x00")
	got, _ := Unpad(in)
	_ = append(got, 'z')
	if in[2] != 0x80 {
		t.Error("append to the result overwrote the input")
	}
}
