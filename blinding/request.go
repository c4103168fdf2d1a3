package blinding

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// The names of the community request-authentication headers.
const (
	HeaderPubkey    = "X-SOGS-Pubkey"
	HeaderNonce     = "X-SOGS-Nonce"
	HeaderTimestamp = "X-SOGS-Timestamp"
	HeaderSignature = "X-SOGS-Signature"
)

// NonceSize is the size of the random X-SOGS-Nonce.
const NonceSize = 16

// Headers are the four X-SOGS-* header values that authenticate a request to a community
// server. Send them on the outermost request only (for onion requests: in the v4 metadata
// headers; for /batch and /sequence: on the batch itself).
type Headers struct {
	Pubkey    string // 66 hex digits: 00 + Ed25519 key, or 15 + blinded key
	Nonce     string // 16 random bytes, base64
	Timestamp string // Unix seconds, decimal
	Signature string // 64 bytes, base64
}

// Map returns the headers by name, e.g. for onion v4 request metadata.
func (h Headers) Map() map[string]string {
	return map[string]string{HeaderPubkey: h.Pubkey, HeaderNonce: h.Nonce, HeaderTimestamp: h.Timestamp, HeaderSignature: h.Signature}
}

// Set sets the headers on dst.
func (h Headers) Set(dst http.Header) {
	for k, v := range h.Map() {
		dst.Set(k, v)
	}
}

// HeadersFromHTTP reads the four headers from src, matching names without regard to case
// (header maps built from JSON are often not canonical). Missing headers are empty.
func HeadersFromHTTP(src http.Header) Headers {
	var h Headers
	for k, vs := range src {
		if len(vs) > 0 {
			h.setByName(k, vs[0])
		}
	}
	return h
}

// HeadersFromMap reads the four headers from a name → value map (such as the headers of an
// onion v4 request's JSON metadata), matching names without regard to case.
func HeadersFromMap(src map[string]string) Headers {
	var h Headers
	for k, v := range src {
		h.setByName(k, v)
	}
	return h
}

func (h *Headers) setByName(name, value string) {
	switch {
	case strings.EqualFold(name, HeaderPubkey):
		h.Pubkey = value
	case strings.EqualFold(name, HeaderNonce):
		h.Nonce = value
	case strings.EqualFold(name, HeaderTimestamp):
		h.Timestamp = value
	case strings.EqualFold(name, HeaderSignature):
		h.Signature = value
	}
}

// SignedPath returns the path of u in the form that request signatures cover: the
// URL-decoded path, plus "?" and the raw query string when the query is not empty.
func SignedPath(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Path
	}
	return u.Path + "?" + u.RawQuery
}

// requestMessage is what X-SOGS-Signature signs:
// server_pk || nonce || timestamp || method || path || BLAKE2b-512(body) (only for a body).
func requestMessage(serverPK [32]byte, nonce []byte, ts, method, path string, body []byte) []byte {
	path = strings.TrimSuffix(path, "?") // an empty query is never signed
	msg := make([]byte, 0, 32+len(nonce)+len(ts)+len(method)+len(path)+64)
	msg = append(msg, serverPK[:]...)
	msg = append(msg, nonce...)
	msg = append(msg, ts...)
	msg = append(msg, method...)
	msg = append(msg, path...)
	if len(body) > 0 {
		h := crypto.Blake2b512(nil, body)
		msg = append(msg, h[:]...)
	}
	return msg
}

// RequestSigner makes the X-SOGS-* headers for requests to one community server, as one
// identity: 15-blinded (what servers require by default) or unblinded (00, for servers that
// do not require blinding). It is safe for concurrent use once its fields are set.
type RequestSigner struct {
	// Rand is the source of nonces; nil means crypto/rand. Sign may read it from several
	// goroutines at once, so a custom reader must be safe for that if Sign is.
	Rand io.Reader
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time

	serverPK [32]byte
	pubkey   crypto.AccountID
	sign     func(msg []byte) [64]byte
}

// NewRequestSigner returns a signer for the 15-blinded key pair kp, on the server kp was made
// for. Community servers accept only 15-blinded keys; a 25 key pair gives ErrNotBlindedID.
func NewRequestSigner(kp *KeyPair) (*RequestSigner, error) {
	if kp.id.Prefix() != crypto.PrefixBlinded15 {
		return nil, fmt.Errorf("%w: community requests are signed with a 15-blinded key, not %s", ErrNotBlindedID, kp.id.Prefix())
	}
	return &RequestSigner{serverPK: kp.serverPK, pubkey: kp.id, sign: kp.Sign}, nil
}

// NewUnblindedRequestSigner returns a signer that signs with our plain Ed25519 key (X-SOGS-Pubkey
// 00 + key). Servers that require blinding (the default) refuse it.
func NewUnblindedRequestSigner(keys *crypto.Keys, serverPK [32]byte) *RequestSigner {
	return &RequestSigner{
		serverPK: serverPK,
		pubkey:   crypto.NewAccountID(crypto.PrefixUnblinded, keys.Ed25519PublicKey()),
		sign:     keys.Sign,
	}
}

// Pubkey returns the ID sent as X-SOGS-Pubkey (prefix 15 or 00).
func (s *RequestSigner) Pubkey() crypto.AccountID { return s.pubkey }

// Sign returns the headers for a request with a fresh random nonce and the current time.
// method is the HTTP method as sent ("GET"); path is the URL-decoded path with the raw query
// string, if any (see [SignedPath]); body is the request body, or nil.
func (s *RequestSigner) Sign(method, path string, body []byte) (Headers, error) {
	var nonce [NonceSize]byte
	if _, err := io.ReadFull(randOrDefault(s.Rand), nonce[:]); err != nil {
		return Headers{}, fmt.Errorf("blinding: reading request nonce: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return s.SignWith(method, path, body, nonce, now()), nil
}

// SignWith is Sign with a given nonce and time. Never reuse a nonce: the server refuses a
// second request with the same one.
func (s *RequestSigner) SignWith(method, path string, body []byte, nonce [NonceSize]byte, ts time.Time) Headers {
	tss := strconv.FormatInt(ts.Unix(), 10)
	sig := s.sign(requestMessage(s.serverPK, nonce[:], tss, method, path, body))
	return Headers{
		Pubkey:    s.pubkey.String(),
		Nonce:     base64.StdEncoding.EncodeToString(nonce[:]),
		Timestamp: tss,
		Signature: base64.StdEncoding.EncodeToString(sig[:]),
	}
}

// verifyEd25519 is Ed25519 verification with libsodium's extra refusal of a small-order R.
func verifyEd25519(pub [32]byte, msg []byte, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize || isSmallOrder([32]byte(sig[:32])) {
		return false
	}
	return ed25519.Verify(pub[:], msg, sig)
}
