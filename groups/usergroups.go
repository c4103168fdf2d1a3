package groups

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/sessiongo/sdk/crypto"
)

// GroupRemoval is whether we were removed from a group of UserGroups ("r").
type GroupRemoval int64

// Removal states of a group in UserGroups.
const (
	GroupNotRemoved GroupRemoval = 0
	GroupKicked     GroupRemoval = 1 // we were removed from the group
	GroupDestroyed  GroupRemoval = 2 // an admin deleted the group
)

// UserGroup is one 03 group of the UserGroups config (namespace 5, dict "g", keyed by the
// 33-byte group ID 0x03 ‖ pubkey), which tells the user's other devices (and a restart
// without local state) which groups they are in: official clients poll only the groups listed
// here.
type UserGroup struct {
	PublicKey [32]byte     // the group's Ed25519 key
	Seed      []byte       // "K": the group seed for admins (32 bytes), empty otherwise
	AuthData  *AuthData    // "s": the member's subaccount auth data (non-admins)
	Name      string       // "n": the name from the invite
	Removed   GroupRemoval // "r": GroupKicked or GroupDestroyed
	Notify    NotifyMode
	MuteUntil int64 // "!": muted until (unix seconds)
	Priority  int64 // "+": >0 pinned, <0 hidden
	Invited   bool  // "i": invite not yet accepted
	Joined    int64 // "j": join time (unix seconds)
}

// ID returns the group's 03 Account ID.
func (g UserGroup) ID() crypto.AccountID { return IDFromPublicKey(g.PublicKey) }

// SecretKey returns the group's 64-byte Ed25519 secret key (seed ‖ public key) for admins.
func (g UserGroup) SecretKey() []byte {
	if len(g.Seed) != 32 {
		return nil
	}
	return append(slices.Clone(g.Seed), g.PublicKey[:]...)
}

// Kicked and Destroyed report the removed state.
func (g UserGroup) Kicked() bool    { return g.Removed == GroupKicked }
func (g UserGroup) Destroyed() bool { return g.Removed == GroupDestroyed }

// baseGroup holds the fields the three kinds of UserGroups entries share.
type baseGroup struct {
	notify    NotifyMode
	muteUntil int64
	priority  int64
	invited   bool
	joined    int64
}

func readBase(e Dict) baseGroup {
	return baseGroup{
		notify:    readNotify(e),
		muteUntil: e.Int("!"),
		priority:  e.Int("+"),
		invited:   e.Int("i") != 0,
		joined:    max(e.Int("j"), 0),
	}
}

func (b baseGroup) write(e Dict) {
	setNonZero(e, "+", b.priority)
	setPositive(e, "j", b.joined)
	setPositive(e, "@", int64(b.notify))
	setPositive(e, "!", b.muteUntil)
	setFlag(e, "i", b.invited)
}

// UserGroupsFromData reads the 03 groups of a UserGroups config's data, sorted by ID.
func UserGroupsFromData(d Dict) []UserGroup {
	gs := d.Dict("g")
	out := make([]UserGroup, 0, len(gs))
	for _, k := range sortedKeys(gs) {
		e, ok := gs[k].(Dict)
		if !ok || len(k) != crypto.AccountIDSize || k[0] != byte(crypto.PrefixGroup) {
			continue
		}
		out = append(out, userGroupFromEntry([32]byte([]byte(k[1:])), e))
	}
	return out
}

// UserGroupFromData returns one group of a UserGroups config's data.
func UserGroupFromData(d Dict, groupPK [32]byte) (UserGroup, bool) {
	id := IDFromPublicKey(groupPK)
	e, ok := d.Dict("g")[string(id[:])].(Dict)
	if !ok {
		return UserGroup{}, false
	}
	return userGroupFromEntry(groupPK, e), true
}

func userGroupFromEntry(pk [32]byte, e Dict) UserGroup {
	b := readBase(e)
	g := UserGroup{
		PublicKey: pk,
		Name:      e.String("n"),
		Removed:   GroupRemoval(e.Int("r")),
		Notify:    b.notify,
		MuteUntil: b.muteUntil,
		Priority:  b.priority,
		Invited:   b.invited,
		Joined:    b.joined,
	}
	// A seed that is not the group's (a corrupt entry) is ignored, as libsession does.
	if seed := e.String("K"); len(seed) == 32 && NewAdminKey([32]byte([]byte(seed))).PublicKey() == pk {
		g.Seed = []byte(seed)
	}
	if s := e.String("s"); len(s) == AuthDataSize {
		a := AuthData([]byte(s))
		g.AuthData = &a
	}
	return g
}

// SetUserGroup adds or updates a group in a UserGroups config's data.
func SetUserGroup(d Dict, g UserGroup) error {
	if len(g.Seed) != 0 && len(g.Seed) != 32 {
		return fmt.Errorf("%w: group seed must be 32 bytes", ErrInvalidInput)
	}
	if len(g.Seed) == 32 && NewAdminKey([32]byte(g.Seed)).PublicKey() != g.PublicKey {
		return fmt.Errorf("%w: group seed does not match the group key", ErrInvalidInput)
	}
	id := g.ID()
	e := subDict(subDict(d, "g"), string(id[:]))
	baseGroup{notify: g.Notify, muteUntil: g.MuteUntil, priority: g.Priority, invited: g.Invited, joined: g.Joined}.write(e)
	setNonEmpty(e, "n", truncate(g.Name, MaxNameLength))
	setPositive(e, "r", int64(g.Removed))
	if len(g.Seed) == 32 {
		e["K"] = string(g.Seed)
	} else {
		e["K"] = "" // always present: an empty seed marks a non-admin
		if g.AuthData != nil {
			e["s"] = string(g.AuthData[:])
		} else {
			delete(e, "s")
		}
	}
	return nil
}

// EraseUserGroup removes a group from a UserGroups config's data and reports whether it was
// there.
func EraseUserGroup(d Dict, groupPK [32]byte) bool {
	id := IDFromPublicKey(groupPK)
	gs := d.Dict("g")
	if _, ok := gs[string(id[:])]; !ok {
		return false
	}
	delete(gs, string(id[:]))
	return true
}

// UserCommunity is a community room in the UserGroups config (dict "o": base URL → {"#":
// server key, "R": lower-case room token → entry}).
type UserCommunity struct {
	BaseURL string   // canonical (CanonicalCommunityURL)
	Room    string   // the room token as the user typed it ("n"); compare with CanonicalRoom
	PubKey  [32]byte // the server's X25519 key
	Notify  NotifyMode
	// MuteUntil, Priority, Invited and Joined are as for UserGroup.
	MuteUntil int64
	Priority  int64
	Invited   bool
	Joined    int64
}

// CommunitiesFromData reads the community rooms of a UserGroups config's data, sorted by
// server, then room.
func CommunitiesFromData(d Dict) []UserCommunity {
	var out []UserCommunity
	servers := d.Dict("o")
	for _, base := range sortedKeys(servers) {
		srv, _ := servers[base].(Dict)
		pk, isStr := srv["#"].(string)
		rooms, isDict := srv["R"].(Dict)
		if !isStr || len(pk) != 32 || !isDict {
			continue
		}
		for _, room := range sortedKeys(rooms) {
			e, ok := rooms[room].(Dict)
			if !ok {
				continue
			}
			name := room
			if n, ok := e["n"].(string); ok {
				if _, err := CanonicalRoom(n); err != nil {
					continue // an entry libsession would not load either
				}
				name = n
			}
			b := readBase(e)
			out = append(out, UserCommunity{
				BaseURL: base, Room: name, PubKey: [32]byte([]byte(pk)),
				Notify: b.notify, MuteUntil: b.muteUntil, Priority: b.priority, Invited: b.invited, Joined: b.joined,
			})
		}
	}
	return out
}

// SetCommunity adds or updates a community room in a UserGroups config's data. The base URL
// and room are canonicalized for the keys; the room keeps its case in "n".
func SetCommunity(d Dict, c UserCommunity) error {
	base, err := CanonicalCommunityURL(c.BaseURL)
	if err != nil {
		return err
	}
	room, err := CanonicalRoom(c.Room)
	if err != nil {
		return err
	}
	srv := subDict(subDict(d, "o"), base)
	srv["#"] = string(c.PubKey[:])
	e := subDict(subDict(srv, "R"), room)
	baseGroup{notify: c.Notify, muteUntil: c.MuteUntil, priority: c.Priority, invited: c.Invited, joined: c.Joined}.write(e)
	e["n"] = c.Room
	return nil
}

// EraseCommunity removes a community room (and its server with its last room) from a
// UserGroups config's data and reports whether it was there.
func EraseCommunity(d Dict, baseURL, room string) bool {
	base, err := CanonicalCommunityURL(baseURL)
	if err != nil {
		return false
	}
	r, err := CanonicalRoom(room)
	if err != nil {
		return false
	}
	if _, ok := d.Dict("o").Dict(base).Dict("R")[r]; !ok {
		return false
	}
	eraseRoom(d, base, r)
	return true
}

// SameRoom reports whether two community rooms are the same (URLs and tokens compared in
// canonical form).
func SameRoom(baseA, roomA, baseB, roomB string) bool {
	a, err1 := CanonicalCommunityURL(baseA)
	b, err2 := CanonicalCommunityURL(baseB)
	return err1 == nil && err2 == nil && a == b && strings.EqualFold(roomA, roomB)
}

// LegacyGroup is a legacy (05) closed group of the UserGroups config (dict "C"). The SDK
// reads and preserves them; it does not take part in them.
type LegacyGroup struct {
	ID                crypto.AccountID
	Name              string // "n"
	EncPubKey         []byte // "k": the group's current X25519 encryption key pair
	EncSecKey         []byte // "K"
	DisappearingTimer int64  // "E", seconds
	Members           []LegacyMember
	Notify            NotifyMode
	MuteUntil         int64
	Priority          int64
	Invited           bool
	Joined            int64
}

// LegacyMember is a member of a legacy group ("m" members and "a" admins, 33-byte IDs).
type LegacyMember struct {
	ID    crypto.AccountID
	Admin bool
}

// LegacyGroupsFromData reads the legacy groups of a UserGroups config's data, sorted by ID.
func LegacyGroupsFromData(d Dict) []LegacyGroup {
	gs := d.Dict("C")
	var out []LegacyGroup
	for _, k := range sortedKeys(gs) {
		e, ok := gs[k].(Dict)
		if !ok || len(k) != crypto.AccountIDSize || k[0] != byte(crypto.PrefixStandard) {
			continue
		}
		b := readBase(e)
		g := LegacyGroup{
			ID: crypto.AccountID([]byte(k)), Name: e.String("n"),
			Notify: b.notify, MuteUntil: b.muteUntil, Priority: b.priority, Invited: b.invited, Joined: b.joined,
		}
		if pk, sk := e.String("k"), e.String("K"); len(pk) == 32 && len(sk) == 32 {
			g.EncPubKey, g.EncSecKey = []byte(pk), []byte(sk)
		}
		if t := e.Int("E"); t > 0 {
			g.DisappearingTimer = t
		}
		members := map[crypto.AccountID]bool{}
		for _, set := range []string{"m", "a"} {
			for _, x := range e.Set(set) {
				if s, ok := x.(string); ok && len(s) == crypto.AccountIDSize && s[0] == byte(crypto.PrefixStandard) {
					id := crypto.AccountID([]byte(s))
					if _, dup := members[id]; !dup { // listed as both: a member (libsession)
						members[id] = set == "a"
					}
				}
			}
		}
		for id, admin := range members {
			g.Members = append(g.Members, LegacyMember{ID: id, Admin: admin})
		}
		slices.SortFunc(g.Members, func(a, b LegacyMember) int { return bytes.Compare(a.ID[:], b.ID[:]) })
		out = append(out, g)
	}
	return out
}

// EraseLegacyGroup removes a legacy group from a UserGroups config's data and reports
// whether it was there.
func EraseLegacyGroup(d Dict, id crypto.AccountID) bool {
	gs := d.Dict("C")
	if _, ok := gs[string(id[:])]; !ok {
		return false
	}
	delete(gs, string(id[:]))
	return true
}

// SetLegacyGroup adds or updates a legacy group in a UserGroups config's data (to keep one
// that another device wrote, or to import one).
func SetLegacyGroup(d Dict, g LegacyGroup) error {
	if g.ID.Prefix() != crypto.PrefixStandard {
		return fmt.Errorf("%w: legacy group %s is not a 05 ID", ErrInvalidInput, g.ID)
	}
	e := subDict(subDict(d, "C"), string(g.ID[:]))
	baseGroup{notify: g.Notify, muteUntil: g.MuteUntil, priority: g.Priority, invited: g.Invited, joined: g.Joined}.write(e)
	e["n"] = truncate(g.Name, MaxNameLength)
	if len(g.EncPubKey) == 32 && len(g.EncSecKey) == 32 {
		e["k"], e["K"] = string(g.EncPubKey), string(g.EncSecKey)
	} else {
		delete(e, "k")
		delete(e, "K")
	}
	var members, admins []any
	for _, m := range g.Members {
		if m.ID.Prefix() != crypto.PrefixStandard {
			return fmt.Errorf("%w: legacy group member %s is not a 05 ID", ErrInvalidInput, m.ID)
		}
		if m.Admin {
			admins = append(admins, string(m.ID[:]))
		} else {
			members = append(members, string(m.ID[:]))
		}
	}
	ms, _ := NewSet(members...)
	as, _ := NewSet(admins...)
	e["m"], e["a"] = ms, as
	setPositive(e, "E", g.DisappearingTimer)
	pruneEmpty(d)
	return nil
}
