package groups

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/sessiongo/sdk/crypto"
)

// Size limits of group config fields (longer values are truncated when set).
const (
	MaxGroupNameLength        = 100
	MaxGroupDescriptionLength = 2000
	MaxMemberNameLength       = 100
)

// Info is the content of a group's Info config (namespace 13).
type Info struct {
	Name        string // "n"
	Description string // "o"
	Created     int64  // "c", unix seconds
	// DeleteBefore and DeleteAttachmentsBefore ("d", "D", unix seconds) ask clients to delete
	// older messages and attachments.
	DeleteBefore            int64
	DeleteAttachmentsBefore int64
	ExpireTimer             int64  // "E", disappearing-messages timer in seconds
	PicURL                  string // "p"
	PicKey                  []byte // "q", 32 bytes
	Destroyed               bool   // "!", the group was deleted by an admin
}

// InfoFromData reads Info from a config's data.
func InfoFromData(d Dict) Info {
	i := Info{
		Name:                    d.String("n"),
		Description:             d.String("o"),
		Created:                 d.Int("c"),
		DeleteBefore:            d.Int("d"),
		DeleteAttachmentsBefore: d.Int("D"),
		ExpireTimer:             d.Int("E"),
		PicURL:                  d.String("p"),
		Destroyed:               d.Int("!") != 0,
	}
	if q := d.String("q"); len(q) == 32 && i.PicURL != "" {
		i.PicKey = []byte(q)
	}
	return i
}

// Apply writes i into a config's data (zero values remove their key).
func (i Info) Apply(d Dict) {
	d.setOrDelete("n", truncate(i.Name, MaxGroupNameLength))
	d.setOrDelete("o", truncate(i.Description, MaxGroupDescriptionLength))
	d.setOrDelete("c", i.Created)
	d.setOrDelete("d", i.DeleteBefore)
	d.setOrDelete("D", i.DeleteAttachmentsBefore)
	d.setOrDelete("E", i.ExpireTimer)
	if i.PicURL != "" && len(i.PicKey) == 32 {
		d["p"], d["q"] = i.PicURL, string(i.PicKey)
	} else {
		delete(d, "p")
		delete(d, "q")
	}
	if i.Destroyed {
		d["!"] = int64(1)
	} else {
		delete(d, "!")
	}
}

// InviteStatus is a member's invitation state in a group's Members config ("I"); zero once
// the invitation is accepted, and for admins.
type InviteStatus int64

// Invitation states.
const (
	InviteSent    InviteStatus = 1 // sent, not accepted yet
	InviteFailed  InviteStatus = 2 // could not be sent
	InviteNotSent InviteStatus = 3 // the member is added; the invitation is still to be sent
)

// PromotionStatus is a member's promotion to admin in a group's Members config ("P"); zero
// when none is pending.
type PromotionStatus int64

// Promotion states.
const (
	PromotionSent    PromotionStatus = 1 // sent, not accepted yet
	PromotionFailed  PromotionStatus = 2 // could not be sent
	PromotionNotSent PromotionStatus = 3 // the member is marked admin; the promotion is still to be sent
)

// RemovedStatus is a member's removal in a group's Members config ("R"); zero for members.
type RemovedStatus int64

// Removal states.
const (
	RemovedMember  RemovedStatus = 1 // removed
	RemovedAndMsgs RemovedStatus = 2 // removed along with their messages
)

// Member is one entry of a group's Members config (namespace 14).
type Member struct {
	ID         crypto.AccountID // 05 Account ID (the key of the entry, 33 binary bytes)
	Name       string           // "n"
	PicURL     string           // "p"
	PicKey     []byte           // "q"
	Admin      bool             // "A" (a label: admin status is holding the group key)
	Promotion  PromotionStatus  // "P": a promotion not accepted yet
	Invite     InviteStatus     // "I": an invitation not accepted yet
	Supplement bool             // "s": invited with supplemental keys (can read history)
	Removed    RemovedStatus    // "R": removed (with or without their messages)
}

// MembersFromData reads the members of a Members config's data, sorted by ID. Entries whose key
// is not a 33-byte 05 ID are skipped.
func MembersFromData(d Dict) []Member {
	m := d.Dict("m")
	out := make([]Member, 0, len(m))
	for k, v := range m {
		e, ok := v.(Dict)
		if !ok || len(k) != crypto.AccountIDSize || k[0] != byte(crypto.PrefixStandard) {
			continue
		}
		mem := Member{
			ID:         crypto.AccountID([]byte(k)),
			Name:       e.String("n"),
			PicURL:     e.String("p"),
			Admin:      e.Int("A") != 0,
			Promotion:  PromotionStatus(e.Int("P")),
			Invite:     InviteStatus(e.Int("I")),
			Supplement: e.Int("s") != 0,
			Removed:    RemovedStatus(e.Int("R")),
		}
		if q := e.String("q"); len(q) == 32 && mem.PicURL != "" {
			mem.PicKey = []byte(q)
		}
		out = append(out, mem)
	}
	slices.SortFunc(out, func(a, b Member) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// SetMember adds or replaces a member in a Members config's data.
func SetMember(d Dict, m Member) error {
	if m.ID.Prefix() != crypto.PrefixStandard {
		return fmt.Errorf("%w: member %s is not a 05 ID", ErrInvalidInput, m.ID)
	}
	members := d.Dict("m")
	if members == nil {
		members = Dict{}
		d["m"] = members
	}
	e := Dict{"n": truncate(m.Name, MaxMemberNameLength)} // "n" is always present
	if m.PicURL != "" && len(m.PicKey) == 32 {
		e["p"], e["q"] = m.PicURL, string(m.PicKey)
	}
	if m.Admin {
		e["A"] = int64(1)
	}
	e.setOrDelete("P", int64(m.Promotion))
	if !m.Admin {
		e.setOrDelete("I", int64(m.Invite))
	}
	if m.Supplement {
		e["s"] = int64(1)
	}
	e.setOrDelete("R", int64(m.Removed))
	members[string(m.ID[:])] = e
	return nil
}

// EraseMember removes a member from a Members config's data (do this before rekeying after
// a kick: a member that is only flagged removed still gets the new key).
func EraseMember(d Dict, id crypto.AccountID) {
	if m := d.Dict("m"); m != nil {
		delete(m, string(id[:]))
	}
}

// DecryptGroupConfig decrypts a group Info or Members payload with the first of keys that
// works (try every key, as libsession does) and returns the serialized message.
func DecryptGroupConfig(payload []byte, keys [][32]byte, domain string) ([]byte, error) {
	for _, k := range keys {
		out, err := DecodeConfigPayload(payload, k, domain)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, ErrDecrypt) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: no group key decrypts the config", ErrDecrypt)
}
