package groups

import (
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"fmt"
	"io"

	"github.com/sessiongo/sdk/crypto"
)

// AdminKey is a group's secret key (its 32-byte Ed25519 seed), held only by admins: having it
// is what makes a member an admin. Its String and format verbs never print the secret.
type AdminKey struct {
	seed [32]byte
	priv ed25519.PrivateKey
	pub  [32]byte
	xsk  [32]byte // X25519 conversion of the secret key
	xpk  [32]byte // X25519 conversion of the public key
}

// NewAdminKey returns the group key with the given Ed25519 seed.
func NewAdminKey(seed [32]byte) *AdminKey {
	priv := ed25519.NewKeyFromSeed(seed[:])
	a := &AdminKey{seed: seed, priv: priv, pub: [32]byte(priv[32:])}
	a.xsk = crypto.Ed25519PrivateToX25519(seed)
	// Our own key made by ed25519.NewKeyFromSeed is always a valid prime-order point.
	xpk, err := crypto.Ed25519PublicToX25519(a.pub)
	if err != nil {
		panic("groups: own Ed25519 key does not convert: " + err.Error()) // unreachable
	}
	a.xpk = xpk
	return a
}

// GenerateAdminKey makes a new random group key (a new group) from rand (crypto/rand when nil).
func GenerateAdminKey(rand io.Reader) (*AdminKey, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	var seed [32]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("groups: generating group key: %w", err)
	}
	return NewAdminKey(seed), nil
}

// Seed returns the group's secret seed (what a promote message carries).
func (a *AdminKey) Seed() [32]byte { return a.seed }

// PublicKey returns the group's Ed25519 public key C.
func (a *AdminKey) PublicKey() [32]byte { return a.pub }

// PrivateKey returns a copy of the 64-byte Ed25519 private key (seed ‖ C).
func (a *AdminKey) PrivateKey() ed25519.PrivateKey { return append(ed25519.PrivateKey(nil), a.priv...) }

// ID returns the group's 03 Account ID.
func (a *AdminKey) ID() crypto.AccountID { return crypto.NewAccountID(crypto.PrefixGroup, a.pub) }

// Sign signs msg with the group key (plain Ed25519).
func (a *AdminKey) Sign(msg []byte) [64]byte { return [64]byte(ed25519.Sign(a.priv, msg)) }

// String identifies the group without revealing the secret.
func (a *AdminKey) String() string { return "groups.AdminKey{" + a.ID().String() + "}" }

// GoString is String.
func (a *AdminKey) GoString() string { return a.String() }

// Format prints String for every verb, so %x or %v never leak the seed.
func (a *AdminKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, a.String()) }

// IDFromPublicKey returns the 03 group ID of a group Ed25519 public key.
func IDFromPublicKey(pk [32]byte) crypto.AccountID {
	return crypto.NewAccountID(crypto.PrefixGroup, pk)
}

// ParseID parses a 66-hex-character 03 group ID and returns it with the group's Ed25519 public
// key, which must be a valid point.
func ParseID(s string) (crypto.AccountID, [32]byte, error) {
	id, err := crypto.ParseAccountID(s)
	if err != nil {
		return crypto.AccountID{}, [32]byte{}, err
	}
	pk, err := groupPublicKey(id)
	if err != nil {
		return crypto.AccountID{}, [32]byte{}, err
	}
	return id, pk, nil
}

// groupPublicKey checks that id is an 03 ID with a valid Ed25519 key and returns the key.
func groupPublicKey(id crypto.AccountID) ([32]byte, error) {
	if id.Prefix() != crypto.PrefixGroup {
		return [32]byte{}, fmt.Errorf("%w: group ID must start with 03, got %s", ErrInvalidInput, id.Prefix())
	}
	pk := id.Key()
	if _, err := crypto.ParseEd25519Point(pk); err != nil {
		return [32]byte{}, fmt.Errorf("%w: group key: %w", ErrInvalidInput, err)
	}
	return pk, nil
}

// memberX returns the X25519 key of a 05 member ID.
func memberX(id crypto.AccountID) ([32]byte, error) {
	if id.Prefix() != crypto.PrefixStandard {
		return [32]byte{}, fmt.Errorf("%w: member ID must start with 05, got %s", ErrInvalidInput, id.Prefix())
	}
	return id.Key(), nil
}
