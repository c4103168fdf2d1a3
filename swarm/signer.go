package swarm

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/sessiongo/sdk/crypto"
)

// SubaccountTokenSize is the size of a group subaccount token: prefix(1) ‖ flags(1) ‖
// reserved(2) ‖ Ed25519 subkey(32).
const SubaccountTokenSize = 36

// Auth is what a Signer adds to a storage request: the signature and, depending on who signs,
// the fields the storage server needs to check it.
type Auth struct {
	// Signature is the Ed25519 signature over the request's signature message.
	Signature [64]byte
	// PubkeyEd25519 is the signer's Ed25519 key, sent as pubkey_ed25519; required for 05
	// accounts (whose ID is an X25519 key) and not allowed for any other prefix.
	PubkeyEd25519 *[32]byte
	// Subaccount and SubaccountSig authorise a group member: the token, and the group key's
	// signature over its 36 bytes. Signature is then made with the token's subkey.
	Subaccount    *[SubaccountTokenSize]byte
	SubaccountSig *[64]byte
}

// ErrCannotSign is returned by a Signer that has no key (see Unsigned). Requests that need no
// signature (a store to a public inbox, a retrieve from a public outbox) are then sent
// without one; others fail with an error matching ErrCannotSign.
var ErrCannotSign = errors.New("swarm: signer cannot sign")

// Signer says which account a storage request addresses and signs it.
//
// Implementations: NewKeysSigner (our 05 Account ID, signed with its Ed25519 key and
// pubkey_ed25519), NewGroupAdminSigner (an 03 group, signed with the group's Ed25519 key),
// Unsigned (no signature, for storing into someone else's public inbox); package groups
// provides a subaccount signer for group members.
type Signer interface {
	// AccountID is the account (its swarm, its messages) the request is about.
	AccountID() crypto.AccountID
	// SignRequest signs the request's signature message (see the Request types).
	SignRequest(msg []byte) (Auth, error)
}

type keysSigner struct{ k *crypto.Keys }

// NewKeysSigner signs requests for the 05 Account ID of keys with its Ed25519 key, adding
// pubkey_ed25519 as the storage server requires for 05 accounts.
func NewKeysSigner(k *crypto.Keys) Signer { return keysSigner{k} }

func (s keysSigner) AccountID() crypto.AccountID { return s.k.AccountID() }

func (s keysSigner) SignRequest(msg []byte) (Auth, error) {
	pk := s.k.Ed25519PublicKey()
	return Auth{Signature: s.k.Sign(msg), PubkeyEd25519: &pk}, nil
}

type edSigner struct {
	id   crypto.AccountID
	priv ed25519.PrivateKey
}

// NewGroupAdminSigner signs requests for the 03 group whose Ed25519 key pair priv is (64 bytes,
// seed ‖ public key, as ed25519.NewKeyFromSeed returns). No pubkey_ed25519 is sent: the
// storage server verifies with the group key itself.
func NewGroupAdminSigner(priv ed25519.PrivateKey) (Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("swarm: group key: want %d bytes, got %d", ed25519.PrivateKeySize, len(priv))
	}
	pub := [32]byte(priv[32:])
	if !ed25519.NewKeyFromSeed(priv[:32]).Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(pub[:])) {
		return nil, fmt.Errorf("swarm: group key: public half does not match the seed")
	}
	return edSigner{id: crypto.NewAccountID(crypto.PrefixGroup, pub), priv: append(ed25519.PrivateKey(nil), priv...)}, nil
}

func (s edSigner) AccountID() crypto.AccountID { return s.id }

func (s edSigner) SignRequest(msg []byte) (Auth, error) {
	return Auth{Signature: [64]byte(ed25519.Sign(s.priv, msg))}, nil
}

type unsigned crypto.AccountID

// Unsigned addresses account without signing: for storing into another account's public
// inbox (namespaces divisible by 10) and for reading public outboxes. Requests that need a
// signature fail with ErrCannotSign.
func Unsigned(account crypto.AccountID) Signer { return unsigned(account) }

func (u unsigned) AccountID() crypto.AccountID { return crypto.AccountID(u) }

func (unsigned) SignRequest([]byte) (Auth, error) { return Auth{}, ErrCannotSign }
