package groups

import (
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"

	"github.com/sessiongo/sdk/crypto"
)

// Subaccount flags (byte 1 of auth data and tokens).
const (
	FlagRead      byte = 0x01
	FlagWrite     byte = 0x02
	FlagDelete    byte = 0x04
	FlagAnyPrefix byte = 0x08
)

// AuthDataSize and TokenSize are the sizes of subaccount auth data and tokens.
const (
	AuthDataSize = 100
	TokenSize    = 36
)

// AuthData is what an admin gives a member (the invite's memberAuthData, UserGroups "s"):
// prefix ‖ flags ‖ 00 00 ‖ k ‖ Ed25519 signature by the group key over the token.
type AuthData [AuthDataSize]byte

// Token is what storage nodes check and what revoke_subaccount takes:
// prefix ‖ flags ‖ 00 00 ‖ kT, where kT is the member's blinded subaccount key.
type Token [TokenSize]byte

// Flags returns the flag byte of the auth data.
func (a AuthData) Flags() byte { return a[1] }

// Flags returns the flag byte of the token.
func (t Token) Flags() byte { return t[1] }

// PublicKey returns the Ed25519 key kT that the member's request signatures verify under.
func (t Token) PublicKey() [32]byte { return [32]byte(t[4:]) }

// SubaccountFlags returns the flag byte for a member that may read and, as asked, write and
// delete. libsession and the official clients issue write=true, delete=false (0x03).
func SubaccountFlags(write, del bool) byte {
	f := FlagRead
	if write {
		f |= FlagWrite
	}
	if del {
		f |= FlagDelete
	}
	return f
}

// blindingFactor computes k = reduce(H_64(0x05 ‖ X ‖ 0x03 ‖ C; key=H_32(seed; "SessionGroupSubaccountMask"))).
func (a *AdminKey) blindingFactor(memberX [32]byte) *edwards25519.Scalar {
	mask := crypto.Blake2b256([]byte("SessionGroupSubaccountMask"), a.seed[:])
	h := crypto.Blake2b512(mask[:], []byte{byte(crypto.PrefixStandard)}, memberX[:], []byte{byte(crypto.PrefixGroup)}, a.pub[:])
	k, err := edwards25519.NewScalar().SetUniformBytes(h[:])
	if err != nil {
		panic(err) // unreachable: 64 bytes
	}
	return k
}

// blindedKey returns k·T for the Edwards point T (noclamp scalar multiplication).
func blindedKey(k *edwards25519.Scalar, t [32]byte) ([32]byte, error) {
	p, err := new(edwards25519.Point).SetBytes(t[:])
	if err != nil {
		return [32]byte{}, fmt.Errorf("%w: member key is not a curve point", ErrInvalidInput)
	}
	kt := new(edwards25519.Point).ScalarMult(k, p)
	if kt.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return [32]byte{}, fmt.Errorf("%w: member key gives the identity", ErrInvalidInput)
	}
	return [32]byte(kt.Bytes()), nil
}

func makeToken(flags byte, kT [32]byte) Token {
	var t Token
	t[0] = byte(crypto.PrefixGroup)
	t[1] = flags
	copy(t[4:], kT[:])
	return t
}

// SubaccountToken returns the token of member (a 05 ID) with the given flags: the value to
// revoke or unrevoke on the group's swarm.
func (a *AdminKey) SubaccountToken(member crypto.AccountID, flags byte) (Token, error) {
	x, err := memberX(member)
	if err != nil {
		return Token{}, err
	}
	t, err := crypto.XEd25519PublicKey(x)
	if err != nil {
		return Token{}, fmt.Errorf("%w: member key: %w", ErrInvalidInput, err)
	}
	kT, err := blindedKey(a.blindingFactor(x), t)
	if err != nil {
		return Token{}, err
	}
	return makeToken(flags, kT), nil
}

// SubaccountAuth returns the 100-byte auth data for member (a 05 ID) with the given flags
// (see SubaccountFlags), as libsession's swarm_make_subaccount does.
func (a *AdminKey) SubaccountAuth(member crypto.AccountID, flags byte) (AuthData, error) {
	tok, err := a.SubaccountToken(member, flags)
	if err != nil {
		return AuthData{}, err
	}
	x, _ := memberX(member) // checked by SubaccountToken
	var auth AuthData
	copy(auth[:4], tok[:4])
	copy(auth[4:36], a.blindingFactor(x).Bytes())
	sig := a.Sign(tok[:])
	copy(auth[36:], sig[:])
	return auth, nil
}

// memberToken rebuilds the token from auth data and the member's Ed25519 public key, and
// returns it with k and whether the key's sign bit was set.
func memberToken(auth AuthData, memberEdPK [32]byte) (Token, *edwards25519.Scalar, bool, error) {
	// Like libsodium's noclamp scalar multiplication, ignore bit 255 and work mod L (so, as
	// upstream, flipping that bit of k goes unnoticed).
	var wide [64]byte
	copy(wide[:], auth[4:36])
	wide[31] &= 0x7f
	k, _ := edwards25519.NewScalar().SetUniformBytes(wide[:])
	neg := memberEdPK[31]&0x80 != 0
	t := memberEdPK
	t[31] &= 0x7f
	kT, err := blindedKey(k, t)
	if err != nil {
		return Token{}, nil, false, err
	}
	var tok Token
	copy(tok[:4], auth[:4])
	copy(tok[4:], kT[:])
	return tok, k, neg, nil
}

// SubaccountSignature is what a member adds to a storage request signed with its subaccount:
// the request fields subaccount (Token), subaccount_sig (TokenSig) and signature.
type SubaccountSignature struct {
	Token     Token
	TokenSig  [64]byte
	Signature [64]byte
}

// SignSubaccount signs the storage request message msg (for example "retrieve" ‖ ns ‖ ts) as
// the member holding keys, with the auth data an admin issued to it (libsession's
// swarm_subaccount_sign). The signature is a standard Ed25519 signature under the token's key.
func SignSubaccount(keys *crypto.Keys, auth AuthData, msg []byte) (SubaccountSignature, error) {
	tok, k, neg, err := memberToken(auth, keys.Ed25519PublicKey())
	if err != nil {
		return SubaccountSignature{}, err
	}
	xsk := keys.X25519PrivateKey() // clamp(SHA512(seed)[:32]) = the Ed25519 secret scalar a
	a, err := edwards25519.NewScalar().SetBytesWithClamping(xsk[:])
	if err != nil {
		panic(err) // unreachable: 32 bytes
	}
	if neg {
		a.Negate(a)
	}
	kt := edwards25519.NewScalar().Multiply(k, a)
	seed := keys.Seed()
	h32 := crypto.Blake2b256([]byte("SubaccountSeed"), seed[:])
	kT := tok[4:]
	rh := crypto.Blake2b512([]byte("SubaccountSig"), h32[:], kT, msg)
	r, _ := edwards25519.NewScalar().SetUniformBytes(rh[:])
	R := new(edwards25519.Point).ScalarBaseMult(r)
	hram := sha512.New()
	hram.Write(R.Bytes())
	hram.Write(kT)
	hram.Write(msg)
	c, _ := edwards25519.NewScalar().SetUniformBytes(hram.Sum(nil))
	s := edwards25519.NewScalar().MultiplyAdd(c, kt, r)
	var out SubaccountSignature
	out.Token = tok
	copy(out.TokenSig[:], auth[36:])
	copy(out.Signature[:32], R.Bytes())
	copy(out.Signature[32:], s.Bytes())
	return out, nil
}

// VerifyAuthData checks, as a member, that auth data received in an invite is valid for the
// member's Ed25519 key under the group key (libsession's swarm_verify_subaccount).
func VerifyAuthData(groupPK [32]byte, memberEdPK [32]byte, auth AuthData) error {
	if auth[0] != byte(crypto.PrefixGroup) {
		return fmt.Errorf("%w: auth data prefix %02x", ErrBadSignature, auth[0])
	}
	tok, _, _, err := memberToken(auth, memberEdPK)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if !ed25519.Verify(groupPK[:], tok[:], auth[36:]) {
		return ErrBadSignature
	}
	return nil
}

// VerifySubaccountRequest performs a storage node's checks of a subaccount-signed request to
// the group with Ed25519 key groupPK: the token's prefix (or ANY_PREFIX), that it carries the
// required flags, the group's signature over the token, and the request signature under the
// token's key. Revocation is the caller's business (compare whole tokens).
func VerifySubaccountRequest(groupPK [32]byte, s SubaccountSignature, msg []byte, required byte) error {
	if s.Token[0] != byte(crypto.PrefixGroup) && s.Token[1]&FlagAnyPrefix == 0 {
		return fmt.Errorf("%w: token prefix %02x", ErrBadSignature, s.Token[0])
	}
	if s.Token[1]&required != required {
		return fmt.Errorf("%w: token flags %02x lack %02x", ErrBadSignature, s.Token[1], required)
	}
	if !ed25519.Verify(groupPK[:], s.Token[:], s.TokenSig[:]) {
		return fmt.Errorf("%w: token not signed by the group", ErrBadSignature)
	}
	pk := s.Token.PublicKey()
	if !ed25519.Verify(pk[:], msg, s.Signature[:]) {
		return fmt.Errorf("%w: request signature", ErrBadSignature)
	}
	return nil
}
