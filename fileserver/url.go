package fileserver

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/sessiongo/sdk/onion"
)

// FileURL is a parsed file URL as clients put it in attachment pointers and profiles:
// <server>/file/<id>, optionally followed by a fragment "p=<server Ed25519 key hex>" (for
// servers other than the default one) and "d" (deterministic encryption). Old
// <server>/files/<id> URLs parse too.
type FileURL struct {
	// Server is the base URL, scheme://host[:port].
	Server string
	ID     string
	// Ed25519 is the server's Ed25519 key from the "p" fragment, when HasKey. Desktop writes
	// the Ed25519 key there and converts it to X25519; libsession's newer parser reads it as
	// the X25519 key itself. We follow desktop.
	Ed25519 [32]byte
	HasKey  bool
	// Deterministic is set by the "d" fragment: the file uses the deterministic scheme.
	Deterministic bool
}

// ParseFileURL parses a file URL. Anything that is not http(s)://host[:port]/file/<id> (or
// /files/<id>) with a valid ID, or whose "p" is not 64 hex characters, is ErrBadURL.
func ParseFileURL(s string) (FileURL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return FileURL{}, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return FileURL{}, fmt.Errorf("%w: %q is not an http(s) file URL", ErrBadURL, s)
	}
	su, err := onion.ParseURL(scheme + "://" + u.Host)
	if err != nil {
		return FileURL{}, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	parts := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	if len(parts) != 2 || (parts[0] != "file" && parts[0] != "files") || !validID(parts[1]) {
		return FileURL{}, fmt.Errorf("%w: %q has no /file/<id> path", ErrBadURL, s)
	}
	f := FileURL{Server: baseOf(su), ID: parts[1]}
	for _, kv := range strings.Split(u.EscapedFragment(), "&") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "p":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != 32 {
				return FileURL{}, fmt.Errorf("%w: bad server key in %q", ErrBadURL, s)
			}
			f.Ed25519, f.HasKey = [32]byte(b), true
		case "d":
			f.Deterministic = true
		}
	}
	return f, nil
}

// String formats the URL back: Server/file/ID, then "#p=…" when HasKey and "d" when
// Deterministic, joined with "&".
func (f FileURL) String() string {
	s := f.Server + "/file/" + f.ID
	var frag []string
	if f.HasKey {
		frag = append(frag, "p="+hex.EncodeToString(f.Ed25519[:]))
	}
	if f.Deterministic {
		frag = append(frag, "d")
	}
	if len(frag) > 0 {
		s += "#" + strings.Join(frag, "&")
	}
	return s
}

// NumericID is the ID as a number, for AttachmentPointer.id (desktop's deprecated_id): the
// old server's decimal IDs, and 0 for content IDs.
func (f FileURL) NumericID() uint64 { return decimalID(f.ID) }

// NumericID returns the number that goes in AttachmentPointer.id for a file URL: the URL's last
// path segment when it is a decimal number (the official file server's IDs, and community
// room files: <server>/room/<token>/file/<id>), else 0 (content IDs, or anything that is not a
// URL). Desktop fills the field the same way; Session.js and session-python download by it, so
// a pointer with 0 for a numeric file cannot be fetched by them.
func NumericID(fileURL string) uint64 {
	u, err := url.Parse(fileURL)
	if err != nil || u.Host == "" {
		return 0
	}
	p := u.Path
	return decimalID(p[strings.LastIndexByte(p, '/')+1:])
}

// decimalID reads an ID of decimal digits only (no sign, no exponent); anything else, or a
// number that does not fit 64 bits, is 0.
func decimalID(s string) uint64 {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}
