package fileserver

import (
	"encoding/base64"

	"github.com/sessiongo/sdk/crypto"
)

// contentIDSalt is the BLAKE2b salt of content-addressed file IDs.
var contentIDSalt = []byte("SessionFileSvr\x00\x00")

// ContentID is the content-addressed ID a file server gives data when it does not use random
// numeric IDs: URL-safe base64 (no padding needed: 44 characters) of the 33-byte BLAKE2b of
// the data with the salt "SessionFileSvr\0\0". Identical uploads get the same ID, which the
// server deduplicates; only such IDs can be extended.
func ContentID(data []byte) string {
	sum, err := crypto.Blake2bSaltPersonal(33, nil, contentIDSalt, nil, data)
	if err != nil {
		// Unreachable: the size and salt length are constants within BLAKE2b's limits.
		return ""
	}
	return base64.URLEncoding.EncodeToString(sum)
}
