package groups

import (
	"fmt"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/swarm"
)

type subaccountSigner struct {
	member *crypto.Keys
	group  crypto.AccountID
	auth   AuthData
}

// NewSubaccountSigner returns a swarm.Signer with which a member signs its storage requests to
// the group's swarm: the requests address the group's 03 ID and carry the member's token, the
// group's signature of it, and a signature by the token's key (SignSubaccount). auth is the
// auth data the member was invited with; it is checked against the group key first.
func NewSubaccountSigner(member *crypto.Keys, group crypto.AccountID, auth AuthData) (swarm.Signer, error) {
	if member == nil {
		return nil, fmt.Errorf("%w: nil member keys", ErrInvalidInput)
	}
	pk, err := groupPublicKey(group)
	if err != nil {
		return nil, err
	}
	if err := VerifyAuthData(pk, member.Ed25519PublicKey(), auth); err != nil {
		return nil, fmt.Errorf("groups: auth data does not belong to this member and group: %w", err)
	}
	return &subaccountSigner{member: member, group: group, auth: auth}, nil
}

func (s *subaccountSigner) AccountID() crypto.AccountID { return s.group }

func (s *subaccountSigner) SignRequest(msg []byte) (swarm.Auth, error) {
	sig, err := SignSubaccount(s.member, s.auth, msg)
	if err != nil {
		return swarm.Auth{}, err
	}
	tok := [swarm.SubaccountTokenSize]byte(sig.Token)
	ts := sig.TokenSig
	return swarm.Auth{Signature: sig.Signature, Subaccount: &tok, SubaccountSig: &ts}, nil
}
