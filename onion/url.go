package onion

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ServerURL is a parsed server address (a community or file server base URL).
type ServerURL struct {
	Scheme string // "https" or "http", lowercase
	Host   string // host name or IP (IPv6 without brackets)
	Port   uint16 // 0 when the URL has none
	Path   string // path and query as written ("/test?value=test"); "" when absent
}

// ParseURL parses an http(s) URL the way libsession does: the scheme is case-insensitive and
// required, the port and path are optional. Other schemes, user info, fragments and bad ports
// are ErrURLNotAllowed.
func ParseURL(s string) (ServerURL, error) {
	var out ServerURL
	u, err := url.Parse(s)
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrURLNotAllowed, err)
	}
	out.Scheme = strings.ToLower(u.Scheme)
	if out.Scheme != "http" && out.Scheme != "https" {
		return out, fmt.Errorf("%w: scheme %q", ErrURLNotAllowed, u.Scheme)
	}
	if u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return out, fmt.Errorf("%w: %q", ErrURLNotAllowed, s)
	}
	out.Host = u.Hostname()
	if out.Host == "" {
		return out, fmt.Errorf("%w: no host in %q", ErrURLNotAllowed, s)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return out, fmt.Errorf("%w: port %q", ErrURLNotAllowed, p)
		}
		out.Port = uint16(n)
	} else if strings.HasSuffix(u.Host, ":") {
		return out, fmt.Errorf("%w: empty port in %q", ErrURLNotAllowed, s)
	}
	out.Path = u.EscapedPath()
	if u.ForceQuery || u.RawQuery != "" {
		if out.Path == "" {
			out.Path = "/"
		}
		out.Path += "?" + u.RawQuery
	}
	return out, nil
}

// EffectivePort is Port, or the scheme's default (443 for https, 80 for http).
func (u ServerURL) EffectivePort() uint16 {
	if u.Port != 0 {
		return u.Port
	}
	if u.Scheme == "http" {
		return 80
	}
	return 443
}

// String formats the URL back (scheme://host[:port]path).
func (u ServerURL) String() string {
	h := u.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if u.Port != 0 {
		h += ":" + strconv.Itoa(int(u.Port))
	}
	return u.Scheme + "://" + h + u.Path
}
