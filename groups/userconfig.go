package groups

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

// userConfigKinds maps the user config domains to their SharedConfigMessage kinds.
var userConfigKinds = map[string]pb.SharedConfigMessage_Kind{
	DomainUserProfile:       pb.SharedConfigMessage_USER_PROFILE,
	DomainContacts:          pb.SharedConfigMessage_CONTACTS,
	DomainConvoInfoVolatile: pb.SharedConfigMessage_CONVO_INFO_VOLATILE,
	DomainUserGroups:        pb.SharedConfigMessage_USER_GROUPS,
}

// WrapUserConfig wraps an encrypted user config payload (EncodeConfigPayload with the user's
// seed) the way libsession's push does for the four user configs:
// WebSocketMessage{REQUEST{verb "", path "", requestId 0, body = Envelope{SESSION_MESSAGE,
// timestamp 1, content = deterministic Session Protocol encryption to ourselves of
// Content{sharedConfigMessage{kind, seqno, data}} ‖ 0x80}}}. The result is byte-reproducible.
func WrapUserConfig(keys *crypto.Keys, domain string, seqno int64, payload []byte) ([]byte, error) {
	if keys == nil {
		return nil, fmt.Errorf("%w: nil keys", ErrInvalidInput)
	}
	kind, ok := userConfigKinds[domain]
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a user config domain", ErrInvalidInput, domain)
	}
	content, err := proto.Marshal(&pb.Content{SharedConfigMessage: &pb.SharedConfigMessage{
		Kind: kind.Enum(), Seqno: proto.Int64(seqno), Data: payload,
	}})
	if err != nil {
		return nil, fmt.Errorf("groups: marshal config content: %w", err)
	}
	sealed, err := crypto.EncryptForRecipientDeterministic(keys, keys.X25519PublicKey(), append(content, 0x80))
	if err != nil {
		return nil, fmt.Errorf("groups: encrypt config: %w", err)
	}
	env, err := proto.Marshal(&pb.Envelope{Type: pb.Envelope_SESSION_MESSAGE.Enum(), Timestamp: proto.Uint64(1), Content: sealed})
	if err != nil {
		return nil, fmt.Errorf("groups: marshal envelope: %w", err)
	}
	return proto.Marshal(&pb.WebSocketMessage{
		Type: pb.WebSocketMessage_REQUEST.Enum(),
		Request: &pb.WebSocketRequestMessage{
			Verb: proto.String(""), Path: proto.String(""), Body: env, RequestId: proto.Uint64(0),
		},
	})
}

// unwrapUserConfig removes one layer of protobuf wrapping, or reports false if data is not a
// wrapped config.
func unwrapUserConfig(keys *crypto.Keys, data []byte) ([]byte, bool) {
	var ws pb.WebSocketMessage
	if err := proto.Unmarshal(data, &ws); err != nil || ws.GetRequest() == nil {
		return nil, false
	}
	var env pb.Envelope
	if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(ws.GetRequest().GetBody(), &env); err != nil || len(env.GetContent()) == 0 {
		return nil, false
	}
	msg, _, sender, err := crypto.DecryptIncoming(keys, env.GetContent())
	if err != nil || sender != keys.AccountID() {
		return nil, false
	}
	// Strip the 0x80 ‖ 0x00* padding.
	n := len(msg)
	for n > 0 && msg[n-1] == 0 {
		n--
	}
	if n == 0 || msg[n-1] != 0x80 {
		return nil, false
	}
	var content pb.Content
	if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(msg[:n-1], &content); err != nil || content.GetSharedConfigMessage() == nil {
		return nil, false
	}
	return content.GetSharedConfigMessage().GetData(), true
}

// ReadUserConfig turns a message retrieved from a user config namespace into the serialized
// config message: it removes libsession's protobuf wrapping (once, twice, or not at all, as
// libsession accepts), then decrypts with the user's seed and strips padding/compression.
func ReadUserConfig(keys *crypto.Keys, domain string, data []byte) ([]byte, error) {
	if keys == nil {
		return nil, fmt.Errorf("%w: nil keys", ErrInvalidInput)
	}
	if _, ok := userConfigKinds[domain]; !ok {
		return nil, fmt.Errorf("%w: %q is not a user config domain", ErrInvalidInput, domain)
	}
	seed := keys.Seed()
	for depth := 0; depth < 3; depth++ {
		out, err := DecodeConfigPayload(data, seed, domain)
		if err == nil || !errors.Is(err, ErrDecrypt) {
			return out, err
		}
		inner, ok := unwrapUserConfig(keys, data)
		if !ok {
			return nil, err
		}
		data = inner
	}
	return nil, fmt.Errorf("%w: config wrapped too deeply", ErrMalformed)
}

// PushUserConfig makes the bytes to store for a user config: Push, EncodeConfigPayload with
// the user's seed (compressed when smaller) and WrapUserConfig. It returns them with the seqno.
func PushUserConfig(keys *crypto.Keys, c *Config, domain string) ([]byte, int64, error) {
	ser, seq, err := c.Push()
	if err != nil {
		return nil, 0, err
	}
	payload, err := EncodeConfigPayload(ser, keys.Seed(), domain, true)
	if err != nil {
		return nil, 0, err
	}
	out, err := WrapUserConfig(keys, domain, seq, payload)
	return out, seq, err
}

// UserProfile is the content of the UserProfile config (namespace 2).
type UserProfile struct {
	Name   string // "n"
	PicURL string // "p"
	PicKey []byte // "q", 32 bytes
	// NoteToSelfPriority ("+") pins (>0) or hides (<0) Note to Self; NoteToSelfExpiry ("e")
	// is its disappearing timer in seconds.
	NoteToSelfPriority int64
	NoteToSelfExpiry   int64
	// BlindedMsgRequests ("M"): 1 allow, 0 deny, -1 unset (default).
	BlindedMsgRequests int64
}

// UserProfileFromData reads a UserProfile config's data.
func UserProfileFromData(d Dict) UserProfile {
	p := UserProfile{
		Name:               d.String("n"),
		PicURL:             d.String("p"),
		NoteToSelfPriority: d.Int("+"),
		NoteToSelfExpiry:   d.Int("e"),
		BlindedMsgRequests: -1,
	}
	if q := d.String("q"); len(q) == 32 && p.PicURL != "" {
		p.PicKey = []byte(q)
	}
	if m, ok := d["M"].(int64); ok {
		p.BlindedMsgRequests = m
	}
	return p
}

// Apply writes p into a UserProfile config's data.
func (p UserProfile) Apply(d Dict) {
	d.setOrDelete("n", truncate(p.Name, 100))
	if p.PicURL != "" && len(p.PicKey) == 32 {
		d["p"], d["q"] = p.PicURL, string(p.PicKey)
	} else {
		delete(d, "p")
		delete(d, "q")
	}
	d.setOrDelete("+", p.NoteToSelfPriority)
	d.setOrDelete("e", p.NoteToSelfExpiry)
	if p.BlindedMsgRequests >= 0 {
		d["M"] = p.BlindedMsgRequests
	} else {
		delete(d, "M")
	}
}

// Contact is one entry of the Contacts config (namespace 3).
type Contact struct {
	ID         crypto.AccountID
	Name       string // "n"
	Nickname   string // "N"
	PicURL     string // "p"
	PicKey     []byte // "q"
	Approved   bool   // "a"
	ApprovedMe bool   // "A"
	Blocked    bool   // "b"
	Priority   int64  // "+": >0 pinned, <0 hidden
	Created    int64  // "j", unix seconds
	// ExpirationMode ("e": 1 after send, 2 after read) and ExpirationTimer ("E", seconds).
	ExpirationMode  int64
	ExpirationTimer int64
}

// ContactsFromData reads the contacts of a Contacts config's data, sorted by ID.
func ContactsFromData(d Dict) []Contact {
	c := d.Dict("c")
	out := make([]Contact, 0, len(c))
	for k, v := range c {
		e, ok := v.(Dict)
		if !ok || len(k) != crypto.AccountIDSize || k[0] != byte(crypto.PrefixStandard) {
			continue
		}
		ct := Contact{
			ID:              crypto.AccountID([]byte(k)),
			Name:            e.String("n"),
			Nickname:        e.String("N"),
			PicURL:          e.String("p"),
			Approved:        e.Int("a") != 0,
			ApprovedMe:      e.Int("A") != 0,
			Blocked:         e.Int("b") != 0,
			Priority:        e.Int("+"),
			Created:         e.Int("j"),
			ExpirationMode:  e.Int("e"),
			ExpirationTimer: e.Int("E"),
		}
		if q := e.String("q"); len(q) == 32 && ct.PicURL != "" {
			ct.PicKey = []byte(q)
		}
		out = append(out, ct)
	}
	slices.SortFunc(out, func(a, b Contact) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// SetContact adds or replaces a contact in a Contacts config's data.
func SetContact(d Dict, c Contact) error {
	if c.ID.Prefix() != crypto.PrefixStandard {
		return fmt.Errorf("%w: contact %s is not a 05 ID", ErrInvalidInput, c.ID)
	}
	cs := d.Dict("c")
	if cs == nil {
		cs = Dict{}
		d["c"] = cs
	}
	e := Dict{}
	e.setOrDelete("n", truncate(c.Name, 100))
	e.setOrDelete("N", truncate(c.Nickname, 100))
	if c.PicURL != "" && len(c.PicKey) == 32 {
		e["p"], e["q"] = c.PicURL, string(c.PicKey)
	}
	for k, b := range map[string]bool{"a": c.Approved, "A": c.ApprovedMe, "b": c.Blocked} {
		if b {
			e[k] = int64(1)
		}
	}
	e.setOrDelete("+", c.Priority)
	e.setOrDelete("j", c.Created)
	e.setOrDelete("e", c.ExpirationMode)
	e.setOrDelete("E", c.ExpirationTimer)
	cs[string(c.ID[:])] = e
	return nil
}

// UserGroup is one 03 group of the UserGroups config (namespace 5, dict "g"), which tells the
// user's other devices (and a restart without local state) which groups they are in.
type UserGroup struct {
	PublicKey [32]byte  // the group's Ed25519 key (the dict key, without the 03 prefix)
	Seed      []byte    // "K": the group seed for admins (32 bytes), empty otherwise
	AuthData  *AuthData // "s": the member's subaccount auth data (non-admins)
	Name      string    // "n": the name from the invite
	Removed   int64     // "r": we were kicked (1) or the group was destroyed (2)
	Notify    int64     // "@": notification mode
	MuteUntil int64     // "!": muted until (unix seconds)
	Priority  int64     // "+": >0 pinned, <0 hidden
	Invited   bool      // "i": invite not yet accepted
	Joined    int64     // "j": join time (unix seconds)
}

// ID returns the group's 03 Account ID.
func (g UserGroup) ID() crypto.AccountID { return IDFromPublicKey(g.PublicKey) }

// UserGroupsFromData reads the 03 groups of a UserGroups config's data, sorted by key.
func UserGroupsFromData(d Dict) []UserGroup {
	gs := d.Dict("g")
	out := make([]UserGroup, 0, len(gs))
	for k, v := range gs {
		e, ok := v.(Dict)
		if !ok || len(k) != 32 {
			continue
		}
		g := UserGroup{
			PublicKey: [32]byte([]byte(k)),
			Name:      e.String("n"),
			Removed:   e.Int("r"),
			Notify:    e.Int("@"),
			MuteUntil: e.Int("!"),
			Priority:  e.Int("+"),
			Invited:   e.Int("i") != 0,
			Joined:    e.Int("j"),
		}
		if seed := e.String("K"); len(seed) == 32 {
			g.Seed = []byte(seed)
		}
		if s := e.String("s"); len(s) == AuthDataSize {
			a := AuthData([]byte(s))
			g.AuthData = &a
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b UserGroup) int { return bytes.Compare(a.PublicKey[:], b.PublicKey[:]) })
	return out
}

// SetUserGroup adds or replaces a group in a UserGroups config's data.
func SetUserGroup(d Dict, g UserGroup) error {
	if len(g.Seed) != 0 && len(g.Seed) != 32 {
		return fmt.Errorf("%w: group seed must be 32 bytes", ErrInvalidInput)
	}
	if len(g.Seed) == 32 && NewAdminKey([32]byte(g.Seed)).PublicKey() != g.PublicKey {
		return fmt.Errorf("%w: group seed does not match the group key", ErrInvalidInput)
	}
	gs := d.Dict("g")
	if gs == nil {
		gs = Dict{}
		d["g"] = gs
	}
	e := Dict{"K": string(g.Seed)} // "K" is always present
	if g.AuthData != nil && len(g.Seed) == 0 {
		e["s"] = string(g.AuthData[:])
	}
	e.setOrDelete("n", truncate(g.Name, MaxGroupNameLength))
	e.setOrDelete("r", g.Removed)
	e.setOrDelete("@", g.Notify)
	e.setOrDelete("!", g.MuteUntil)
	e.setOrDelete("+", g.Priority)
	if g.Invited {
		e["i"] = int64(1)
	}
	e.setOrDelete("j", g.Joined)
	gs[string(g.PublicKey[:])] = e
	return nil
}

// EraseUserGroup removes a group from a UserGroups config's data.
func EraseUserGroup(d Dict, groupPK [32]byte) {
	if gs := d.Dict("g"); gs != nil {
		delete(gs, string(groupPK[:]))
	}
}
