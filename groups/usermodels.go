package groups

import (
	"bytes"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/sessiongo/sdk/crypto"
)

// The typed models of the user configs. Each reads from and writes into a config's Dict with
// the field rules of libsession-util, and changes only the keys it knows: keys written by a
// newer client survive a read-modify-write.

// MaxNameLength is the longest display name, nickname or group name a config stores, in bytes
// (longer ones are cut at a UTF-8 boundary).
const MaxNameLength = 100

// Notification modes of a conversation (contacts, groups, communities: "@").
type NotifyMode int64

const (
	NotifyDefault      NotifyMode = 0
	NotifyAll          NotifyMode = 1
	NotifyDisabled     NotifyMode = 2
	NotifyMentionsOnly NotifyMode = 3
)

// Disappearing-message modes ("e").
const (
	ExpireNone      = 0
	ExpireAfterSend = 1
	ExpireAfterRead = 2
)

func readNotify(d Dict) NotifyMode {
	n := d.Int("@")
	if n < 0 || n > 3 {
		return NotifyDefault
	}
	return NotifyMode(n)
}

// setNonEmpty stores s, or deletes the key when s is empty.
func setNonEmpty(d Dict, k, s string) {
	if s == "" {
		delete(d, k)
	} else {
		d[k] = s
	}
}

// setNonZero stores n, or deletes the key when n is 0.
func setNonZero(d Dict, k string, n int64) {
	if n == 0 {
		delete(d, k)
	} else {
		d[k] = n
	}
}

// setPositive stores n, or deletes the key when n <= 0.
func setPositive(d Dict, k string, n int64) {
	if n <= 0 {
		delete(d, k)
	} else {
		d[k] = n
	}
}

// setFlag stores 1, or deletes the key.
func setFlag(d Dict, k string, b bool) {
	if b {
		d[k] = int64(1)
	} else {
		delete(d, k)
	}
}

// setPic stores a picture URL and key together, or removes both unless both are valid.
func setPic(d Dict, url string, key []byte) {
	if url != "" && len(key) == 32 {
		d["p"], d["q"] = url, string(key)
	} else {
		delete(d, "p")
		delete(d, "q")
	}
}

// subDict returns d[k] as a dict, creating (or replacing a non-dict value with) an empty one.
func subDict(d Dict, k string) Dict {
	if s, ok := d[k].(Dict); ok {
		return s
	}
	s := Dict{}
	d[k] = s
	return s
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	if !utf8.RuneStart(s[i]) {
		i = n // not UTF-8 there anyway: cut at the limit
	}
	return s[:i]
}

// UserProfile is the content of the UserProfile config (namespace 2).
type UserProfile struct {
	Name   string // "n"
	PicURL string // "p"
	PicKey []byte // "q", 32 bytes
	// NoteToSelfPriority ("+") pins (>0) or hides (<0) Note to Self; NoteToSelfExpiry ("e")
	// is its disappearing timer in seconds (0: off).
	NoteToSelfPriority int64
	NoteToSelfExpiry   int64
	// BlindedMsgRequests ("M"): whether community members may send message requests: 1
	// allow, 0 deny, -1 unset (the client's default).
	BlindedMsgRequests int64
}

// UserProfileFromData reads a UserProfile config's data.
func UserProfileFromData(d Dict) UserProfile {
	p := UserProfile{
		Name:               d.String("n"),
		PicURL:             d.String("p"),
		NoteToSelfPriority: d.Int("+"),
		NoteToSelfExpiry:   max(d.Int("e"), 0),
		BlindedMsgRequests: -1,
	}
	if q := d.String("q"); len(q) == 32 {
		p.PicKey = []byte(q)
	}
	if m, ok := d["M"].(int64); ok {
		p.BlindedMsgRequests = 0
		if m != 0 {
			p.BlindedMsgRequests = 1
		}
	}
	return p
}

// Apply writes p into a UserProfile config's data.
func (p UserProfile) Apply(d Dict) {
	setNonEmpty(d, "n", truncate(p.Name, MaxNameLength))
	setPic(d, p.PicURL, p.PicKey)
	setNonZero(d, "+", p.NoteToSelfPriority)
	setPositive(d, "e", p.NoteToSelfExpiry)
	switch {
	case p.BlindedMsgRequests < 0:
		delete(d, "M")
	case p.BlindedMsgRequests == 0:
		d["M"] = int64(0)
	default:
		d["M"] = int64(1)
	}
}

// Contact is one entry of the Contacts config (namespace 3, dict "c", keyed by the 33-byte
// Account ID).
type Contact struct {
	ID         crypto.AccountID
	Name       string // "n": the name the contact gave itself
	Nickname   string // "N": the name we gave it
	PicURL     string // "p"
	PicKey     []byte // "q"
	Approved   bool   // "a": we accepted its message request (or wrote to it first)
	ApprovedMe bool   // "A": it accepted ours
	Blocked    bool   // "b"
	Priority   int64  // "+": >0 pinned, <0 hidden
	// Notifications ("@") and MuteUntil ("!", unix seconds).
	Notifications NotifyMode
	MuteUntil     int64
	// ExpirationMode ("e": ExpireAfterSend or ExpireAfterRead) and ExpirationTimer ("E",
	// seconds) are the conversation's disappearing-messages setting.
	ExpirationMode  int64
	ExpirationTimer int64
	Created         int64 // "j", unix seconds
}

func contactFromEntry(id crypto.AccountID, e Dict) Contact {
	c := Contact{
		ID:         id,
		Name:       e.String("n"),
		Nickname:   e.String("N"),
		Approved:   e.Int("a") != 0,
		ApprovedMe: e.Int("A") != 0,
		Blocked:    e.Int("b") != 0,
		Priority:   e.Int("+"),
		MuteUntil:  e.Int("!"),
		Created:    e.Int("j"),
	}
	if url, key := e.String("p"), e.String("q"); url != "" && len(key) == 32 {
		c.PicURL, c.PicKey = url, []byte(key)
	}
	c.Notifications = readNotify(e)
	if c.Notifications == NotifyMentionsOnly {
		c.Notifications = NotifyAll // mentions mean nothing in a 1:1 chat
	}
	if mode := e.Int("e"); mode > ExpireNone && mode <= ExpireAfterRead {
		if t := e.Int("E"); t > 0 {
			c.ExpirationMode, c.ExpirationTimer = mode, t
		}
	}
	return c
}

// ContactsFromData reads the contacts of a Contacts config's data, sorted by ID.
func ContactsFromData(d Dict) []Contact {
	cs := d.Dict("c")
	out := make([]Contact, 0, len(cs))
	for k, v := range cs {
		e, ok := v.(Dict)
		if !ok || len(k) != crypto.AccountIDSize || k[0] != byte(crypto.PrefixStandard) {
			continue
		}
		out = append(out, contactFromEntry(crypto.AccountID([]byte(k)), e))
	}
	slices.SortFunc(out, func(a, b Contact) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// ContactFromData returns one contact of a Contacts config's data.
func ContactFromData(d Dict, id crypto.AccountID) (Contact, bool) {
	e, ok := d.Dict("c")[string(id[:])].(Dict)
	if !ok {
		return Contact{}, false
	}
	return contactFromEntry(id, e), true
}

// SetContact adds or updates a contact in a Contacts config's data.
func SetContact(d Dict, c Contact) error {
	if c.ID.Prefix() != crypto.PrefixStandard {
		return fmt.Errorf("%w: contact %s is not a 05 Account ID", ErrInvalidInput, c.ID)
	}
	e := subDict(subDict(d, "c"), string(c.ID[:]))
	// The name is always written, even empty, so that the entry exists.
	e["n"] = truncate(c.Name, MaxNameLength)
	setNonEmpty(e, "N", truncate(c.Nickname, MaxNameLength))
	setPic(e, c.PicURL, c.PicKey)
	setFlag(e, "a", c.Approved)
	setFlag(e, "A", c.ApprovedMe)
	setFlag(e, "b", c.Blocked)
	setNonZero(e, "+", c.Priority)
	notify := c.Notifications
	if notify == NotifyMentionsOnly {
		notify = NotifyAll
	}
	setPositive(e, "@", int64(notify))
	setPositive(e, "!", c.MuteUntil)
	if c.ExpirationMode > ExpireNone && c.ExpirationMode <= ExpireAfterRead && c.ExpirationTimer > 0 {
		e["e"], e["E"] = c.ExpirationMode, c.ExpirationTimer
	} else {
		delete(e, "e")
		delete(e, "E")
	}
	setPositive(e, "j", c.Created)
	return nil
}

// EraseContact removes a contact from a Contacts config's data and reports whether it was
// there.
func EraseContact(d Dict, id crypto.AccountID) bool {
	cs := d.Dict("c")
	if _, ok := cs[string(id[:])]; !ok {
		return false
	}
	delete(cs, string(id[:]))
	return true
}
