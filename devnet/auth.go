package devnet

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"

	"filippo.io/edwards25519"
)

// Subaccount token flags (storage-server spec 2.3; groups spec 2.6).
const (
	subRead      byte = 0x01
	subWrite     byte = 0x02
	subDelete    byte = 0x04
	subAnyPrefix byte = 0x08
)

// auth is the authentication part of a request, parsed but not yet checked.
type auth struct {
	sig      []byte    // 64 bytes, nil when absent
	edKey    *[32]byte // pubkey_ed25519
	subToken *[36]byte
	subSig   []byte
}

// parseSig reads a JSON signature: base64 of 64 bytes, 86 chars unpadded or 88 with "==".
func parseSig(s string) ([]byte, error) {
	var b []byte
	var err error
	switch {
	case len(s) == 86:
		b, err = base64.RawStdEncoding.DecodeString(s)
	case len(s) == 88 && s[86:] == "==":
		b, err = base64.StdEncoding.DecodeString(s)
	default:
		err = parseError("bad length")
	}
	if err != nil || len(b) != 64 {
		return nil, perr("invalid signature: expected base64 encoded Ed25519 signature")
	}
	return b, nil
}

// parseToken reads a subaccount token: base64 (48 chars) or hex (72 chars) of 36 bytes.
func parseToken(s string) ([36]byte, error) {
	var t [36]byte
	var b []byte
	var err error
	switch len(s) {
	case 48:
		b, err = base64.StdEncoding.DecodeString(s)
	case 72:
		b, err = hex.DecodeString(s)
	default:
		err = parseError("bad length")
	}
	if err != nil || len(b) != 36 {
		return t, perr("invalid subaccount token: expected 36 bytes, base64 or hex encoded")
	}
	copy(t[:], b)
	return t, nil
}

// parseAuth reads signature, pubkey_ed25519 and subaccount/subaccount_sig. With required, a
// missing signature is a parse error; withSub=false ignores subaccount fields (owner-only calls).
func (p params) parseAuth(acct account, required, withSub bool) (auth, error) {
	var a auth
	s, ok, err := p.str("signature")
	if err != nil {
		return a, err
	}
	if ok {
		if a.sig, err = parseSig(s); err != nil {
			return a, err
		}
	} else if required {
		return a, perr("Required field 'signature' missing")
	}
	if e, ok, err := p.str("pubkey_ed25519"); err != nil {
		return a, err
	} else if ok {
		if acct[0] != 0x05 {
			return a, perr("pubkey_ed25519 is only permitted for 05[...] pubkeys")
		}
		b, err := hex.DecodeString(e)
		if err != nil || len(b) != 32 {
			return a, perr("Invalid pubkey_ed25519: expected 64 hex digits")
		}
		var k [32]byte
		copy(k[:], b)
		a.edKey = &k
	}
	if !withSub {
		return a, nil
	}
	if t, ok, err := p.str("subaccount"); err != nil {
		return a, err
	} else if ok && t != "" {
		tok, err := parseToken(t)
		if err != nil {
			return a, err
		}
		a.subToken = &tok
		ss, ok, err := p.str("subaccount_sig")
		if err != nil {
			return a, err
		}
		if !ok {
			return a, perr("Required field 'subaccount_sig' missing")
		}
		if a.subSig, err = parseSig(ss); err != nil {
			return a, err
		}
	}
	return a, nil
}

// edToX converts an Ed25519 public key to its X25519 (Montgomery u) form.
func edToX(ed [32]byte) ([32]byte, bool) {
	var x [32]byte
	pt, err := new(edwards25519.Point).SetBytes(ed[:])
	if err != nil {
		return x, false
	}
	copy(x[:], pt.BytesMontgomery())
	return x, true
}

// accountEdKey is the Ed25519 key that owns acct: for a 05 account with pubkey_ed25519, that key
// after checking that it converts to the account's X25519 key; otherwise the raw 32 bytes.
func accountEdKey(acct account, a auth) ([32]byte, bool) {
	if acct[0] == 0x05 && a.edKey != nil {
		x, ok := edToX(*a.edKey)
		if !ok || x != acct.key() {
			return [32]byte{}, false
		}
		return *a.edKey, true
	}
	return acct.key(), true
}

func edVerify(pk [32]byte, msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(pk[:], msg, sig)
}

// verify checks the request signature over msg. With a subaccount token it checks, in order:
// revocation (unless skipRevoked), the token's prefix, its flags against need, the owner's
// signature of the token, and finally the request signature under the token's subkey.
func (n *Node) verify(acct account, a auth, msg []byte, need byte, skipRevoked bool) bool {
	if a.sig == nil {
		return false
	}
	owner, ok := accountEdKey(acct, a)
	if !ok {
		return false
	}
	if a.subToken == nil {
		return edVerify(owner, msg, a.sig)
	}
	tok := *a.subToken
	if !skipRevoked && n.store.isRevoked(acct, tok) {
		return false
	}
	if tok[0] != acct[0] && tok[1]&subAnyPrefix == 0 {
		return false
	}
	if tok[1]&need != need {
		return false
	}
	if !edVerify(owner, tok[:], a.subSig) {
		return false
	}
	var sub [32]byte
	copy(sub[:], tok[4:])
	return edVerify(sub, msg, a.sig)
}
