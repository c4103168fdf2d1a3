package community

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/sessiongo/sdk/onion"
)

// roomTokenRE is what servers accept as a room token: [\w-]{1,64}.
var roomTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidRoomToken reports whether token is a room token servers accept ([\w-]{1,64}).
func ValidRoomToken(token string) bool { return roomTokenRE.MatchString(token) }

// RoomURL is a parsed join URL: the server's base URL and X25519 key, and the room token.
type RoomURL struct {
	// Server is the server's base URL (scheme, host and port) and X25519 public key.
	Server onion.Server
	// Token is the room token.
	Token string
}

// ParseURL parses a community join URL, "http(s)://host[:port]/<room>?public_key=<64 hex>",
// the form servers print and clients share. Errors match ErrBadURL and say what is wrong.
func ParseURL(s string) (RoomURL, error) {
	bad := func(format string, args ...any) (RoomURL, error) {
		return RoomURL{}, fmt.Errorf("%w: %s", ErrBadURL, fmt.Sprintf(format, args...))
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return bad("empty URL")
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("%v", err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return bad("scheme must be http or https, not %q", u.Scheme)
	}
	if u.Host == "" {
		return bad("no host")
	}
	if u.User != nil {
		return bad("user information is not allowed")
	}
	path := strings.Trim(u.Path, "/")
	if path == "" {
		return bad("no room token in the path")
	}
	if strings.Contains(path, "/") {
		return bad("the path must be one room token, not %q", path)
	}
	if !ValidRoomToken(path) {
		return bad("invalid room token %q", path)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	pks := q["public_key"]
	if len(pks) != 1 {
		return bad("want exactly one public_key parameter, got %d", len(pks))
	}
	pk, err := parseServerKey(pks[0])
	if err != nil {
		return RoomURL{}, err
	}
	srv, err := onion.NewServer(scheme+"://"+u.Host, pk)
	if err != nil {
		return bad("%v", err)
	}
	return RoomURL{Server: srv, Token: path}, nil
}

func parseServerKey(s string) ([32]byte, error) {
	var pk [32]byte
	if len(s) != 64 {
		return pk, fmt.Errorf("%w: public_key must be 64 hex digits, got %d characters", ErrBadURL, len(s))
	}
	if _, err := hex.Decode(pk[:], []byte(s)); err != nil {
		return pk, fmt.Errorf("%w: public_key is not hex", ErrBadURL)
	}
	return pk, nil
}

// String returns the join URL: base/<token>?public_key=<hex>.
func (r RoomURL) String() string {
	return JoinURL(r.Server, r.Token)
}

// JoinURL returns the join URL of a room on server.
func JoinURL(server onion.Server, token string) string {
	base := server.URL
	base.Path = ""
	return base.String() + "/" + token + "?public_key=" + hex.EncodeToString(server.X25519[:])
}
