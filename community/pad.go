package community

// Community posts and blinded DMs carry a serialized Content padded the Session way. Package
// session has the same functions, but it sits above this package, so the few lines are
// repeated here.

const paddingBlock = 160

// Pad pads a serialized Content as clients pad what they post: 0x80, then zero bytes up to the
// next multiple of 160 bytes.
func Pad(msg []byte) []byte {
	n := (len(msg)/paddingBlock + 1) * paddingBlock
	out := make([]byte, n)
	copy(out, msg)
	out[len(msg)] = 0x80
	return out
}

// Unpad removes the padding leniently, as every client does: trailing zero bytes, then a 0x80
// if there is one (otherwise the data was not padded and is returned whole). The result shares
// padded's memory.
func Unpad(padded []byte) []byte {
	i := len(padded) - 1
	for i >= 0 && padded[i] == 0 {
		i--
	}
	if i >= 0 && padded[i] == 0x80 {
		return padded[:i]
	}
	return padded
}
