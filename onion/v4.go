package onion

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ServerRequest is an HTTP-like request to a server destination (v4 onion request).
type ServerRequest struct {
	Method   string            // "GET" when empty
	Endpoint string            // path and query, starting with "/"
	Headers  map[string]string // sent as given, except User-Agent, which is dropped
	// Body is the request body. nil means no body (the v4 list has one element); a non-nil
	// empty slice is an empty body.
	Body []byte
}

// EncodeV4Request builds the v4 payload l<len>:<info JSON>[<len>:<body>]e, where the info
// JSON is {"endpoint","headers","method"} compact with sorted keys. As libsession does, it
// drops User-Agent and adds "Content-Type: application/json" when there is a body and no
// content type. An endpoint not starting with "/" is ErrURLNotAllowed.
func EncodeV4Request(r *ServerRequest) ([]byte, error) {
	if !strings.HasPrefix(r.Endpoint, "/") {
		return nil, fmt.Errorf("%w: endpoint %q must start with /", ErrURLNotAllowed, r.Endpoint)
	}
	method := r.Method
	if method == "" {
		method = "GET"
	}
	h := make(map[string]string, len(r.Headers)+1)
	hasCT := false
	for k, v := range r.Headers {
		if strings.EqualFold(k, "User-Agent") {
			continue
		}
		if strings.EqualFold(k, "Content-Type") {
			hasCT = true
		}
		h[k] = v
	}
	if r.Body != nil && !hasCT {
		h["Content-Type"] = "application/json"
	}
	info, err := marshalCompact(struct {
		Endpoint string            `json:"endpoint"`
		Headers  map[string]string `json:"headers"`
		Method   string            `json:"method"`
	}{r.Endpoint, h, method})
	if err != nil {
		return nil, fmt.Errorf("onion: %w", err)
	}
	if r.Body == nil {
		return appendStringList(nil, info), nil
	}
	return appendStringList(make([]byte, 0, len(info)+len(r.Body)+16), info, r.Body), nil
}

// ParseV4Request is the server's side of EncodeV4Request. A missing method is "GET"; header
// values that are not strings are ErrMalformed.
func ParseV4Request(payload []byte) (*ServerRequest, error) {
	parts, err := parseStringList(payload, 2)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: v4 request without info", ErrMalformed)
	}
	var info struct {
		Endpoint *string           `json:"endpoint"`
		Method   string            `json:"method"`
		Headers  map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(parts[0], &info); err != nil {
		return nil, fmt.Errorf("%w: v4 request info: %w", ErrMalformed, err)
	}
	if info.Endpoint == nil || !strings.HasPrefix(*info.Endpoint, "/") {
		return nil, fmt.Errorf("%w: v4 request endpoint must start with /", ErrMalformed)
	}
	r := &ServerRequest{Method: info.Method, Endpoint: *info.Endpoint, Headers: info.Headers}
	if r.Method == "" {
		r.Method = "GET"
	}
	if r.Headers == nil {
		r.Headers = map[string]string{}
	}
	if len(parts) > 1 {
		r.Body = parts[1]
	}
	return r, nil
}
