package onion

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sessiongo/sdk/internal/bencode"
	"github.com/sessiongo/sdk/internal/jsonscan"
)

// MaxResponseSize bounds every reply this package parses (a retrieve can be ~7.8 MB; a file
// download through the file server up to ~10 MB, plus base64 and framing).
const MaxResponseSize = 32 << 20

// NodeResponse is a storage node's answer to an RPC delivered by onion. Status is the node's
// real status (a wrong-swarm 421 arrives inside an outer 200); Body is the RPC result, usually
// JSON.
type NodeResponse struct {
	Status int
	Body   []byte
}

// Response is a server's answer (v4): status code, headers and body (nil when the server sent
// no body part).
type Response struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// open decrypts a reply to this onion. Like libsession it falls back to aes-gcm when an
// xchacha20 reply does not decrypt (some servers answer errors with aes-gcm).
func (o *Onion) open(sealed []byte) ([]byte, error) {
	if o == nil || o.reply == nil {
		return nil, errors.New("onion: Onion not made by Build")
	}
	pt, err := o.reply.Open(sealed)
	if err == nil || o.enc != XChaCha20 {
		return pt, err
	}
	return o.openAlt(sealed, err)
}

// openAlt is open's AES-GCM attempt, after XChaCha20 failed with err.
func (o *Onion) openAlt(sealed []byte, err error) ([]byte, error) {
	alt, aerr := NewClientChannel(AESGCM, o.eph, o.destX)
	if aerr != nil {
		return nil, err
	}
	pt, aerr := alt.Open(sealed)
	if aerr == nil {
		return pt, nil
	}
	return nil, fmt.Errorf("%w (both XChaCha20-Poly1305 and AES256-GCM)", ErrDecrypt)
}

// DecodeNodeResponse decrypts the 200 body a guard returned for a NodeDestination request:
// base64 text (or {"result":"<base64>"}) of an encrypted JSON {"status":…,"body":…}. A body
// that does not decrypt is ErrDecrypt; one that does not parse is ErrMalformed.
func (o *Onion) DecodeNodeResponse(body []byte) (*NodeResponse, error) {
	if len(body) > MaxResponseSize {
		return nil, fmt.Errorf("%w: reply of %d bytes", ErrMalformed, len(body))
	}
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' {
		var w struct {
			Result *string `json:"result"`
		}
		if err := json.Unmarshal(body, &w); err != nil || w.Result == nil {
			return nil, fmt.Errorf("%w: reply JSON without result", ErrMalformed)
		}
		body = []byte(*w.Result)
	}
	sealed, err := decodeBase64(body)
	if err != nil {
		return nil, fmt.Errorf("%w: reply is not base64", ErrMalformed)
	}
	// sealed is ours alone: it is decrypted in place. A failed XChaCha20 open leaves it
	// zeroed, so the AES-GCM attempt decodes body again.
	var pt []byte
	if o != nil && o.reply != nil && o.enc == XChaCha20 {
		if pt, err = o.reply.openInPlace(sealed); err != nil {
			sealed, _ = decodeBase64(body)
			pt, err = o.openAlt(sealed, err)
		}
	} else {
		pt, err = o.open(sealed)
	}
	if err != nil {
		return nil, err
	}
	// pt is ours alone: its string body can be unescaped where it lies.
	if r, ok := parseNodeReplyFast(pt, true); ok {
		return r, nil
	}
	return parseNodeReplyGeneral(pt)
}

// ParseNodeReply parses a decrypted node reply {"status"|"status_code": int, "body": …}. A
// string body is returned as its bytes; any other JSON value as its JSON text.
func ParseNodeReply(plaintext []byte) (*NodeResponse, error) {
	if r, ok := parseNodeReplyFast(plaintext, false); ok {
		return r, nil
	}
	return parseNodeReplyGeneral(plaintext)
}

var nodeReplyFields = []string{"status", "status_code", "body"}

// parseNodeReplyFast reads the usual reply, an integer status and a string body (the RPC result
// as JSON text), in one pass (jsonscan), where encoding/json reads it twice and copies the
// body twice. It reports false for anything else, which parseNodeReplyGeneral then decides. With
// inPlace the body is unescaped over plaintext itself, which the caller gives up.
func parseNodeReplyFast(plaintext []byte, inPlace bool) (*NodeResponse, bool) {
	var vals [3][]byte
	if !jsonscan.Fields(plaintext, nodeReplyFields, vals[:]) || vals[2] == nil || (vals[0] == nil && vals[1] == nil) {
		return nil, false
	}
	r := &NodeResponse{}
	for _, raw := range vals[:2] {
		if raw == nil {
			continue
		}
		v, ok := jsonscan.Int(raw)
		if !ok || int64(int(v)) != v {
			return nil, false
		}
		r.Status = int(v) // status_code, read second, wins as in parseNodeReplyGeneral
	}
	var ok bool
	if inPlace {
		r.Body, ok = jsonscan.UnescapeInPlace(vals[2])
	} else if r.Body, ok = jsonscan.Text(vals[2]); ok {
		r.Body = bytes.Clone(r.Body)
	}
	if !ok {
		return nil, false
	}
	return r, true
}

// parseNodeReplyGeneral is ParseNodeReply for a body of any JSON type.
func parseNodeReplyGeneral(plaintext []byte) (*NodeResponse, error) {
	var j struct {
		Status     *int            `json:"status"`
		StatusCode *int            `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(plaintext, &j); err != nil {
		return nil, fmt.Errorf("%w: node reply: %w", ErrMalformed, err)
	}
	r := &NodeResponse{}
	switch {
	case j.StatusCode != nil:
		r.Status = *j.StatusCode
	case j.Status != nil:
		r.Status = *j.Status
	default:
		return nil, fmt.Errorf("%w: node reply without status", ErrMalformed)
	}
	if len(j.Body) > 0 && j.Body[0] == '"' {
		var s string
		if err := json.Unmarshal(j.Body, &s); err != nil {
			return nil, fmt.Errorf("%w: node reply body: %w", ErrMalformed, err)
		}
		r.Body = []byte(s)
	} else if len(j.Body) > 0 && !bytes.Equal(j.Body, []byte("null")) {
		r.Body = []byte(j.Body)
	}
	return r, nil
}

// EncodeNodeReply is the destination node's side: it encrypts {"status":status,"body":body}
// (body as a JSON string, as storage servers send it by default) with the layer's channel and
// base64-encodes it. r supplies the nonce (crypto/rand when nil).
func EncodeNodeReply(ch *Channel, r io.Reader, status int, body []byte) ([]byte, error) {
	j, err := marshalCompact(struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}{status, string(body)})
	if err != nil {
		return nil, fmt.Errorf("onion: %w", err)
	}
	sealed, err := ch.Seal(r, j)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.AppendEncode(nil, sealed), nil
}

// DecodeServerResponse decrypts the body a guard returned for a ServerDestination request:
// the server's raw encrypted v4 reply (no base64).
func (o *Onion) DecodeServerResponse(body []byte) (*Response, error) {
	if len(body) > MaxResponseSize {
		return nil, fmt.Errorf("%w: reply of %d bytes", ErrMalformed, len(body))
	}
	pt, err := o.open(body)
	if err != nil {
		// Some servers base64 their reply; accept that too.
		if raw, berr := decodeBase64(bytes.TrimSpace(body)); berr == nil {
			if pt2, err2 := o.open(raw); err2 == nil {
				return ParseV4Response(pt2)
			}
		}
		return nil, err
	}
	return ParseV4Response(pt)
}

// ParseV4Response parses a decrypted v4 reply: the bencoded list
// l<len>:<meta JSON {"code":…,"headers":{…}}>[<len>:<body>]e.
func ParseV4Response(plaintext []byte) (*Response, error) {
	parts, err := parseStringList(plaintext, 2)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: v4 reply without metadata", ErrMalformed)
	}
	var meta struct {
		Code    *int                       `json:"code"`
		Headers map[string]json.RawMessage `json:"headers"`
	}
	if err := json.Unmarshal(parts[0], &meta); err != nil {
		return nil, fmt.Errorf("%w: v4 metadata: %w", ErrMalformed, err)
	}
	if meta.Code == nil {
		return nil, fmt.Errorf("%w: v4 metadata without code", ErrMalformed)
	}
	r := &Response{Status: *meta.Code, Headers: make(map[string]string, len(meta.Headers))}
	for k, v := range meta.Headers {
		var s string
		if json.Unmarshal(v, &s) == nil {
			r.Headers[k] = s
		} else {
			r.Headers[k] = string(v)
		}
	}
	if len(parts) > 1 {
		r.Body = parts[1]
	}
	return r, nil
}

// EncodeV4Response is the server's side: the bencoded reply with compact JSON metadata. A nil
// Body leaves the body part out.
func EncodeV4Response(r *Response) ([]byte, error) {
	h := r.Headers
	if h == nil {
		h = map[string]string{}
	}
	meta, err := marshalCompact(struct {
		Code    int               `json:"code"`
		Headers map[string]string `json:"headers"`
	}{r.Status, h})
	if err != nil {
		return nil, fmt.Errorf("onion: %w", err)
	}
	if r.Body == nil {
		return appendStringList(nil, meta), nil
	}
	return appendStringList(nil, meta, r.Body), nil
}

func decodeBase64(b []byte) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		out, err := enc.AppendDecode(nil, b)
		if err == nil {
			return out, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// The v4 framing is a bencoded list of byte strings and nothing else.

// appendStringList appends l<len>:<s>…e.
func appendStringList(dst []byte, items ...[]byte) []byte {
	dst = append(dst, 'l')
	for _, it := range items {
		dst = bencode.AppendBytes(dst, it)
	}
	return append(dst, 'e')
}

// parseStringList parses exactly one list of at most max byte strings, with nothing after it.
// The items alias b.
func parseStringList(b []byte, max int) ([][]byte, error) {
	v, err := bencode.Options{MaxSize: MaxResponseSize, MaxDepth: 1}.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w: v4 list: %w", ErrMalformed, err)
	}
	if v.Kind != bencode.KindList {
		return nil, fmt.Errorf("%w: v4 payload is a bencoded %v, not a list", ErrMalformed, v.Kind)
	}
	if len(v.List) > max {
		return nil, fmt.Errorf("%w: v4 list of %d items (at most %d)", ErrMalformed, len(v.List), max)
	}
	out := make([][]byte, len(v.List))
	for i, it := range v.List {
		if it.Kind != bencode.KindString {
			return nil, fmt.Errorf("%w: v4 list item %d is a %v", ErrMalformed, i, it.Kind)
		}
		out[i] = it.Str
	}
	return out, nil
}
