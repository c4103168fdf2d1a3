package groups

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// Community URL limits (libsession).
const (
	maxCommunityBaseURL = 267
	maxCommunityRoom    = 64
)

// CanonicalCommunityURL returns a community server's base URL in the form the configs key it
// by: "http://" or "https://", the host in lower case, and the port unless it is the
// scheme's default; no path. The host must be a dotted name or address of letters, digits
// and hyphens.
func CanonicalCommunityURL(baseURL string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: community URL %q: %s", ErrInvalidInput, baseURL, why)
	}
	scheme, rest, ok := strings.Cut(baseURL, "://")
	switch {
	case !ok:
		return bad("no http:// or https://")
	case strings.EqualFold(scheme, "http"):
		scheme = "http://"
	case strings.EqualFold(scheme, "https"):
		scheme = "https://"
	default:
		return bad("scheme must be http or https")
	}
	var host strings.Builder
	dotOK, hasDot := false, false
	for rest != "" {
		c := rest[0]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c == '-':
			host.WriteByte(c)
			dotOK = true
		case c >= 'A' && c <= 'Z':
			host.WriteByte(c + 'a' - 'A')
			dotOK = true
		case c == '.' && dotOK:
			host.WriteByte('.')
			hasDot, dotOK = true, false
		default:
			goto hostDone
		}
		rest = rest[1:]
	}
hostDone:
	h := host.String()
	if len(h) < 4 || !hasDot || strings.HasSuffix(h, ".") {
		return bad("invalid host name")
	}
	port := ""
	if strings.HasPrefix(rest, ":") {
		rest = rest[1:]
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		p, err := strconv.ParseUint(rest[:i], 10, 16)
		if err != nil {
			return bad("invalid port")
		}
		rest = rest[i:]
		if !(p == 80 && scheme == "http://") && !(p == 443 && scheme == "https://") && p != 0 {
			port = ":" + strconv.FormatUint(p, 10)
		}
	}
	rest = strings.TrimPrefix(rest, "/")
	if rest != "" {
		return bad("unexpected path or trailing characters")
	}
	out := scheme + h + port
	if len(out) > maxCommunityBaseURL {
		return bad("too long")
	}
	return out, nil
}

// CanonicalRoom returns a community room token as the configs key it: in lower case. Tokens
// are 1-64 letters, digits, '-' or '_'.
func CanonicalRoom(room string) (string, error) {
	r := strings.ToLower(room)
	if r == "" || len(r) > maxCommunityRoom || strings.Trim(r, "-0123456789_abcdefghijklmnopqrstuvwxyz") != "" {
		return "", fmt.Errorf("%w: invalid community room token %q", ErrInvalidInput, room)
	}
	return r, nil
}

// ConvoKind tells the kinds of conversation in ConvoInfoVolatile apart.
type ConvoKind int

const (
	ConvoOneToOne    ConvoKind = iota + 1 // "1": a 1:1 chat, keyed by the 05 Account ID
	ConvoGroup                            // "g": a group, keyed by its 03 ID
	ConvoCommunity                        // "o": a community room, keyed by URL and room
	ConvoLegacyGroup                      // "C": a legacy group, keyed by its 05 ID
)

// Convo is one entry of the ConvoInfoVolatile config (namespace 4): how far a conversation
// has been read, shared by every device of the account.
type Convo struct {
	Kind ConvoKind
	// ID is the Account ID of a 1:1 chat, group or legacy group.
	ID crypto.AccountID
	// BaseURL, Room (canonical, lower case) and PubKey identify a community room.
	BaseURL string
	Room    string
	PubKey  [32]byte
	// LastRead ("r") is the timestamp (unix ms) of the newest message read; Unread ("u") is
	// the "marked unread" flag.
	LastRead int64
	Unread   bool
}

// ConvoPruneLow and ConvoPruneHigh are libsession's read-position ages: a read position older
// than ConvoPruneLow is not recorded, and entries read longer than ConvoPruneHigh ago (and not
// marked unread) are dropped before each push.
const (
	ConvoPruneLow  = 30 * 24 * time.Hour
	ConvoPruneHigh = 45 * 24 * time.Hour
)

var convoKeys = map[ConvoKind]string{ConvoOneToOne: "1", ConvoGroup: "g", ConvoLegacyGroup: "C"}

func convoPrefix(k ConvoKind) crypto.Prefix {
	if k == ConvoGroup {
		return crypto.PrefixGroup
	}
	return crypto.PrefixStandard
}

// ConvosFromData reads a ConvoInfoVolatile config's data: 1:1 chats, then groups,
// communities and legacy groups, each sorted by key.
func ConvosFromData(d Dict) []Convo {
	var out []Convo
	for _, kind := range []ConvoKind{ConvoOneToOne, ConvoGroup} {
		out = append(out, convosByID(d, kind)...)
	}
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
			c := Convo{Kind: ConvoCommunity, BaseURL: base, Room: room, PubKey: [32]byte([]byte(pk))}
			c.LastRead, c.Unread = e.Int("r"), e.Int("u") != 0
			out = append(out, c)
		}
	}
	return append(out, convosByID(d, ConvoLegacyGroup)...)
}

func convosByID(d Dict, kind ConvoKind) []Convo {
	var out []Convo
	entries := d.Dict(convoKeys[kind])
	for _, k := range sortedKeys(entries) {
		e, ok := entries[k].(Dict)
		if !ok || len(k) != crypto.AccountIDSize || k[0] != byte(convoPrefix(kind)) {
			continue
		}
		out = append(out, Convo{Kind: kind, ID: crypto.AccountID([]byte(k)), LastRead: e.Int("r"), Unread: e.Int("u") != 0})
	}
	return out
}

func sortedKeys(d Dict) []string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// convoEntry returns the dict of c's entry (creating it when create is set), after
// checking c's identity.
func convoEntry(d Dict, c *Convo, create bool) (Dict, error) {
	switch c.Kind {
	case ConvoOneToOne, ConvoGroup, ConvoLegacyGroup:
		if c.ID.Prefix() != convoPrefix(c.Kind) {
			return nil, fmt.Errorf("%w: conversation ID %s has the wrong prefix", ErrInvalidInput, c.ID)
		}
		key := convoKeys[c.Kind]
		if !create {
			e, _ := d.Dict(key)[string(c.ID[:])].(Dict)
			return e, nil
		}
		return subDict(subDict(d, key), string(c.ID[:])), nil
	case ConvoCommunity:
		base, err := CanonicalCommunityURL(c.BaseURL)
		if err != nil {
			return nil, err
		}
		room, err := CanonicalRoom(c.Room)
		if err != nil {
			return nil, err
		}
		c.BaseURL, c.Room = base, room
		if !create {
			e, _ := d.Dict("o").Dict(base).Dict("R")[room].(Dict)
			return e, nil
		}
		srv := subDict(subDict(d, "o"), base)
		srv["#"] = string(c.PubKey[:])
		return subDict(subDict(srv, "R"), room), nil
	}
	return nil, fmt.Errorf("%w: unknown conversation kind %d", ErrInvalidInput, c.Kind)
}

// SetConvo records a conversation's read position and unread flag in a ConvoInfoVolatile
// config's data. As in libsession, a read position older than ConvoPruneLow before now is not
// recorded, unless it moves an existing one back (as after deleting messages).
func SetConvo(d Dict, c Convo, now time.Time) error {
	e, err := convoEntry(d, &c, true)
	if err != nil {
		return err
	}
	if r, ok := e["r"].(int64); ok && c.LastRead < r {
		e["r"] = c.LastRead
	} else if c.LastRead > now.Add(-ConvoPruneLow).UnixMilli() {
		e["r"] = c.LastRead
	}
	setFlag(e, "u", c.Unread)
	pruneEmpty(d)
	return nil
}

// ConvoFromData returns the entry of a conversation (only Kind and the identifying fields of
// c are used).
func ConvoFromData(d Dict, c Convo) (Convo, bool) {
	e, err := convoEntry(d, &c, false)
	if err != nil || e == nil {
		return Convo{}, false
	}
	c.LastRead, c.Unread = e.Int("r"), e.Int("u") != 0
	if c.Kind == ConvoCommunity {
		if pk, ok := d.Dict("o").Dict(c.BaseURL)["#"].(string); ok && len(pk) == 32 {
			c.PubKey = [32]byte([]byte(pk))
		}
	}
	return c, true
}

// EraseConvo removes a conversation's entry (a community server goes with its last room) and
// reports whether it was there.
func EraseConvo(d Dict, c Convo) bool {
	e, err := convoEntry(d, &c, false)
	if err != nil || e == nil {
		return false
	}
	if c.Kind != ConvoCommunity {
		delete(d.Dict(convoKeys[c.Kind]), string(c.ID[:]))
		pruneEmpty(d)
		return true
	}
	eraseRoom(d, c.BaseURL, c.Room)
	return true
}

// eraseRoom removes a room from a dict of community servers ("o"), and the server with its
// last room.
func eraseRoom(d Dict, base, room string) {
	srv := d.Dict("o").Dict(base)
	rooms := srv.Dict("R")
	delete(rooms, room)
	if len(rooms) == 0 {
		delete(d.Dict("o"), base)
	}
	pruneEmpty(d)
}

// PruneConvos drops the entries read longer than ConvoPruneHigh before now and not marked
// unread (1:1 chats, communities and legacy groups; libsession keeps group entries). Run it
// before pushing, as libsession's push does.
func PruneConvos(d Dict, now time.Time) {
	cutoff := now.Add(-ConvoPruneHigh).UnixMilli()
	for _, c := range ConvosFromData(d) {
		if c.Kind == ConvoGroup || c.Unread || c.LastRead >= cutoff {
			continue
		}
		EraseConvo(d, c)
	}
}
