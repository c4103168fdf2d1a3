package session

import "fmt"

// PaddingBlockSize is the block size of message padding: padded messages give away their length
// only to within this many bytes.
const PaddingBlockSize = 160

// Pad pads a serialized Content the way current clients (libsession, and desktop since it
// encrypts through libsession) do: 0x80, then zero bytes up to the next multiple of
// PaddingBlockSize. The 0x80 is always appended, so a message whose length+1 is already a
// multiple gets a whole extra block. Seal pads with it.
func Pad(msg []byte) []byte {
	n := len(msg) + 1
	return padTo(msg, n+PaddingBlockSize-n%PaddingBlockSize)
}

// PadDesktop pads with the older rule of session-desktop and session.js (Signal heritage): 0x80
// then zeros to a total of 160·ceil((len+2)/160) − 1 bytes (159, 319, …). Unpad accepts both.
func PadDesktop(msg []byte) []byte {
	return padTo(msg, PaddingBlockSize*((len(msg)+2+PaddingBlockSize-1)/PaddingBlockSize)-1)
}

func padTo(msg []byte, total int) []byte {
	out := make([]byte, total)
	copy(out, msg)
	out[len(msg)] = 0x80
	return out
}

// Unpad removes padding as every client does, leniently: it skips zero bytes from the end; if the
// first other byte is 0x80 the message ends just before it, and otherwise the message was not
// padded and is returned whole. Only an empty or all-zero input is an error. The result shares
// padded's memory.
func Unpad(padded []byte) ([]byte, error) {
	for i := len(padded) - 1; i >= 0; i-- {
		switch padded[i] {
		case 0x00:
			continue
		case 0x80:
			return padded[:i:i], nil
		default:
			return padded, nil
		}
	}
	return nil, fmt.Errorf("%w: %d bytes, none of them non-zero", ErrInvalidPadding, len(padded))
}
