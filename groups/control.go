package groups

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"strconv"

	"github.com/sessiongo/sdk/crypto"
)

// kickedDomain is the multi-encryption domain of the removal notice in namespace -11.
const kickedDomain = "SessionGroupKickedMessage"

// NamespaceRevokedRetrievable is where admins leave removal notices: kicked members may still
// retrieve from it with their revoked tokens.
const NamespaceRevokedRetrievable = -11

// KickedMessage builds the removal notice an admin stores in namespace -11 after kicking
// members: a "simple" multi-encryption, from the group's X25519 key, to each kicked member of
// member_x25519_pk ‖ decimal(generation), where generation is the group's current key
// generation. rand supplies the nonce.
func (a *AdminKey) KickedMessage(kicked []crypto.AccountID, generation int64, rand io.Reader) ([]byte, error) {
	if len(kicked) == 0 {
		return nil, fmt.Errorf("%w: nobody to notify", ErrInvalidInput)
	}
	msgs := make([][]byte, len(kicked))
	recips := make([][32]byte, len(kicked))
	for i, id := range kicked {
		x, err := memberX(id)
		if err != nil {
			return nil, err
		}
		recips[i] = x
		msgs[i] = append(x[:], strconv.FormatInt(generation, 10)...)
	}
	return MultiEncryptSimple(msgs, recips, a.xsk, a.xpk, kickedDomain, 0, rand)
}

// ReadKickedMessage checks whether a notice from namespace -11 of the group with Ed25519 key
// groupPK removes the member holding me, as of generation currentGen: the notice must decrypt
// for us, name our own X25519 key and carry a generation ≥ currentGen. It returns the
// notice's generation and true when we were removed.
func ReadKickedMessage(me *crypto.Keys, groupPK [32]byte, data []byte, currentGen int64) (int64, bool) {
	gxpk, err := crypto.Ed25519PublicToX25519(groupPK)
	if err != nil || me == nil {
		return 0, false
	}
	pt, err := MultiDecryptSimple(data, me.X25519PrivateKey(), me.X25519PublicKey(), gxpk, kickedDomain)
	if err != nil || len(pt) <= 32 || len(pt) > 32+19 {
		return 0, false
	}
	if [32]byte(pt[:32]) != me.X25519PublicKey() {
		return 0, false
	}
	gen, err := strconv.ParseInt(string(pt[32:]), 10, 64)
	if err != nil || gen < currentGen || gen < 0 {
		return 0, false
	}
	return gen, true
}

// The GroupUpdate* control messages carry Ed25519 signatures by the group key over these
// strings; ts is the decimal ms timestamp of the inner Envelope (= Content.sigTimestamp).

// InviteSigningMessage is what a GroupUpdateInviteMessage's adminSignature covers:
// "INVITE" ‖ invitee 05 hex ID ‖ ts.
func InviteSigningMessage(invitee crypto.AccountID, tsMS int64) []byte {
	return []byte("INVITE" + invitee.String() + strconv.FormatInt(tsMS, 10))
}

// InfoChangeSigningMessage is what a GroupUpdateInfoChangeMessage's adminSignature covers:
// "INFO_CHANGE" ‖ decimal(type) ‖ ts (type: 1 name, 2 avatar, 3 disappearing messages).
func InfoChangeSigningMessage(changeType int, tsMS int64) []byte {
	return []byte("INFO_CHANGE" + strconv.Itoa(changeType) + strconv.FormatInt(tsMS, 10))
}

// MemberChangeSigningMessage is what a GroupUpdateMemberChangeMessage's adminSignature covers:
// "MEMBER_CHANGE" ‖ decimal(type) ‖ ts (type: 1 added, 2 removed, 3 promoted).
func MemberChangeSigningMessage(changeType int, tsMS int64) []byte {
	return []byte("MEMBER_CHANGE" + strconv.Itoa(changeType) + strconv.FormatInt(tsMS, 10))
}

// DeleteContentSigningMessage is what a GroupUpdateDeleteMemberContentMessage's
// adminSignature covers: "DELETE_CONTENT" ‖ ts ‖ the member IDs ‖ the message hashes, with no
// separators.
func DeleteContentSigningMessage(tsMS int64, memberIDs, messageHashes []string) []byte {
	out := []byte("DELETE_CONTENT" + strconv.FormatInt(tsMS, 10))
	for _, m := range memberIDs {
		out = append(out, m...)
	}
	for _, h := range messageHashes {
		out = append(out, h...)
	}
	return out
}

// VerifyAdminSignature checks a group-key signature over one of the signing messages above.
func VerifyAdminSignature(groupPK [32]byte, msg, sig []byte) error {
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(groupPK[:], msg, sig) {
		return fmt.Errorf("%w: admin signature", ErrBadSignature)
	}
	return nil
}
