package blinding

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

var versionKey = []byte("VersionCheckKey_sig")

// Platform names a client platform for the file server's /session_version endpoint.
type Platform string

// The platforms the version endpoint knows.
const (
	PlatformAndroid Platform = "android"
	PlatformDesktop Platform = "desktop"
	PlatformIOS     Platform = "ios"
)

// VersionKeyPair is our 07 version-blinded Ed25519 key pair, used to sign file-server requests
// such as the version check: its seed is BLAKE2b-256(seed, key "VersionCheckKey_sig"), so the
// file server cannot link it to the Account ID. It is immutable and safe for concurrent use;
// printing it shows only its ID.
type VersionKeyPair struct {
	priv ed25519.PrivateKey
	id   crypto.AccountID
}

// NewVersionKeyPair derives the version-blinded key pair from keys.
func NewVersionKeyPair(keys *crypto.Keys) *VersionKeyPair {
	seed := keys.Seed()
	vseed := crypto.Blake2b256(versionKey, seed[:])
	priv := ed25519.NewKeyFromSeed(vseed[:])
	return &VersionKeyPair{priv: priv, id: crypto.NewAccountID(crypto.PrefixVersionBlinded, [32]byte(priv[32:]))}
}

// ID returns the 07-prefixed ID that goes in the X-FS-Pubkey header.
func (v *VersionKeyPair) ID() crypto.AccountID { return v.id }

// PublicKey returns the version-blinded Ed25519 public key.
func (v *VersionKeyPair) PublicKey() [32]byte { return v.id.Key() }

// PrivateKey returns a copy of the 64-byte version-blinded Ed25519 private key. It is secret.
func (v *VersionKeyPair) PrivateKey() ed25519.PrivateKey {
	return append(ed25519.PrivateKey(nil), v.priv...)
}

// SignVersionCheck signs the request GET /session_version?platform=<platform> at time ts, as
// the file server expects: Ed25519 over decimal(ts seconds) || "GET" || path.
func (v *VersionKeyPair) SignVersionCheck(platform Platform, ts time.Time) ([64]byte, error) {
	switch platform {
	case PlatformAndroid, PlatformDesktop, PlatformIOS:
	default:
		return [64]byte{}, fmt.Errorf("%w: %q (want android, desktop or ios)", ErrInvalidPlatform, string(platform))
	}
	return v.SignRequest(ts, "GET", "/session_version?platform="+string(platform), nil), nil
}

// SignRequest signs a file-server request at time ts: Ed25519 over
// decimal(ts seconds) || method || path || body, as libsession's blind_version_sign_request.
// path includes any query string.
func (v *VersionKeyPair) SignRequest(ts time.Time, method, path string, body []byte) [64]byte {
	msg := strconv.AppendInt(nil, ts.Unix(), 10)
	msg = append(msg, method...)
	msg = append(msg, path...)
	msg = append(msg, body...)
	return [64]byte(ed25519.Sign(v.priv, msg))
}

// String shows the ID only.
func (v VersionKeyPair) String() string {
	return "blinding.VersionKeyPair{" + v.id.String() + "}"
}

// GoString shows the ID only.
func (v VersionKeyPair) GoString() string { return v.String() }

// Format prints String for every verb, so no fmt verb can print the private key.
func (v VersionKeyPair) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, v.String()) }
