package onion

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// This file is the node's side of a layer: what a storage node (or the devnet) does with the
// body of POST /onion_req/v2 and with each decrypted layer.

// HopRequest is one layer as a node receives it: the frame u32_le(N) ‖ ciphertext ‖ JSON whose
// JSON carries the client's ephemeral key for this hop.
type HopRequest struct {
	Ciphertext   []byte
	EphemeralKey [32]byte
	EncType      EncType // aes-gcm when the JSON has no enc_type, as storage servers do
	HopNo        int     // the optional "hop_no" (0 when absent)
}

// ParseHopRequest parses the body a node receives. Bad framing, JSON or keys are ErrMalformed;
// an unknown enc_type is ErrUnknownEncType.
func ParseHopRequest(body []byte) (*HopRequest, error) {
	blob, tail, err := SplitFrame(body)
	if err != nil {
		return nil, err
	}
	var j struct {
		EphemeralKey *string `json:"ephemeral_key"`
		EncType      *string `json:"enc_type"`
		HopNo        *int    `json:"hop_no"`
	}
	if err := json.Unmarshal(tail, &j); err != nil {
		return nil, fmt.Errorf("%w: hop JSON: %w", ErrMalformed, err)
	}
	r := &HopRequest{Ciphertext: blob, EncType: AESGCM}
	if j.EphemeralKey == nil {
		return nil, fmt.Errorf("%w: hop JSON has no ephemeral_key", ErrMalformed)
	}
	if r.EphemeralKey, err = parseKeyHex(*j.EphemeralKey); err != nil {
		return nil, fmt.Errorf("%w: ephemeral_key: %w", ErrMalformed, err)
	}
	if j.EncType != nil {
		if r.EncType, err = ParseEncType(*j.EncType); err != nil {
			return nil, err
		}
	}
	if j.HopNo != nil {
		if *j.HopNo < 0 {
			return nil, fmt.Errorf("%w: negative hop_no", ErrMalformed)
		}
		r.HopNo = *j.HopNo
	}
	return r, nil
}

// Open decrypts the layer with the node's X25519 key pair. It returns the plaintext (parse it
// with ParseLayer) and the channel to encrypt the reply with (for a final destination).
func (r *HopRequest) Open(node KeyPair) ([]byte, *Channel, error) {
	ch, err := NewServerChannel(r.EncType, node, r.EphemeralKey)
	if err != nil {
		return nil, nil, err
	}
	pt, err := ch.Open(r.Ciphertext)
	if err != nil {
		return nil, nil, err
	}
	return pt, ch, nil
}

// LayerKind says what a node does with a decrypted layer.
type LayerKind uint8

const (
	// LayerFinal: this node is the destination; Blob is the RPC JSON body.
	LayerFinal LayerKind = iota + 1
	// LayerRelayToServer: POST the whole decrypted plaintext to an HTTP server.
	LayerRelayToServer
	// LayerRelayToNode: forward Blob to the node Destination.
	LayerRelayToNode
)

func (k LayerKind) String() string {
	switch k {
	case LayerFinal:
		return "final"
	case LayerRelayToServer:
		return "relay_to_server"
	case LayerRelayToNode:
		return "relay_to_node"
	}
	return fmt.Sprintf("LayerKind(%d)", uint8(k))
}

// Layer is a decrypted layer u32_le(N) ‖ blob ‖ JSON, read the way storage servers read it:
// a "headers" key makes it final, a "host" key a relay to a server, anything else a relay to
// the next node.
type Layer struct {
	Kind LayerKind
	Blob []byte

	// LayerFinal: "json" (default false) embeds the reply body as a JSON value; "base64"
	// (default true) base64-encodes the encrypted reply.
	JSON   bool
	Base64 bool

	// LayerRelayToServer.
	Host     string
	Target   string
	Port     int    // default 443, whatever the protocol (storage server behaviour)
	Protocol string // default "https"

	// LayerRelayToNode (Destination), and LayerRelayToServer for the server's own decryption.
	Destination  [32]byte // the next node's Ed25519 key
	EphemeralKey [32]byte
	HasEphemeral bool
	EncType      EncType // aes-gcm when absent
}

// ParseLayer parses a decrypted layer. It checks types and hex but not policy: for a relay to
// a server, call URLAllowed before acting on it.
func ParseLayer(plaintext []byte) (*Layer, error) {
	blob, tail, err := SplitFrame(plaintext)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(tail, &m); err != nil {
		return nil, fmt.Errorf("%w: layer JSON: %w", ErrMalformed, err)
	}
	l := &Layer{Blob: blob, Base64: true, EncType: AESGCM}
	if raw, ok := m["ephemeral_key"]; ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: ephemeral_key: %w", ErrMalformed, err)
		}
		if l.EphemeralKey, err = parseKeyHex(s); err != nil {
			return nil, fmt.Errorf("%w: ephemeral_key: %w", ErrMalformed, err)
		}
		l.HasEphemeral = true
	}
	if raw, ok := m["enc_type"]; ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: enc_type: %w", ErrMalformed, err)
		}
		if l.EncType, err = ParseEncType(s); err != nil {
			return nil, err
		}
	}
	switch {
	case m["headers"] != nil:
		l.Kind = LayerFinal
		if err := optJSON(m, "json", &l.JSON); err != nil {
			return nil, err
		}
		if err := optJSON(m, "base64", &l.Base64); err != nil {
			return nil, err
		}
	case m["host"] != nil:
		l.Kind = LayerRelayToServer
		l.Port, l.Protocol = 443, "https"
		if err := optJSON(m, "host", &l.Host); err != nil {
			return nil, err
		}
		if m["target"] == nil {
			return nil, fmt.Errorf("%w: relay to server without target", ErrMalformed)
		}
		if err := optJSON(m, "target", &l.Target); err != nil {
			return nil, err
		}
		if err := optJSON(m, "port", &l.Port); err != nil {
			return nil, err
		}
		if err := optJSON(m, "protocol", &l.Protocol); err != nil {
			return nil, err
		}
	default:
		l.Kind = LayerRelayToNode
		var s string
		if m["destination"] == nil {
			return nil, fmt.Errorf("%w: relay without destination", ErrMalformed)
		}
		if err := optJSON(m, "destination", &s); err != nil {
			return nil, err
		}
		if l.Destination, err = parseKeyHex(s); err != nil {
			return nil, fmt.Errorf("%w: destination: %w", ErrMalformed, err)
		}
		if !l.HasEphemeral {
			return nil, fmt.Errorf("%w: relay without ephemeral_key", ErrMalformed)
		}
	}
	return l, nil
}

// URL is the server URL of a relay-to-server layer: protocol://host[:port]target, leaving out
// the port when it is the scheme's default. It fails with ErrURLNotAllowed when storage nodes
// would refuse it (see [URLAllowed]).
func (l *Layer) URL() (string, error) {
	if err := URLAllowed(l.Protocol, l.Host, l.Port, l.Target); err != nil {
		return "", err
	}
	u := l.Protocol + "://" + l.Host
	if !(l.Protocol == "https" && l.Port == 443) && !(l.Protocol == "http" && l.Port == 80) {
		u += fmt.Sprintf(":%d", l.Port)
	}
	return u + l.Target, nil
}

// URLAllowed applies the storage server's checks to a relay target: protocol http or https,
// a non-empty host, a port in 1..65535, and an allowed target (TargetAllowed).
func URLAllowed(protocol, host string, port int, target string) error {
	if protocol != "http" && protocol != "https" {
		return fmt.Errorf("%w: protocol %q", ErrURLNotAllowed, protocol)
	}
	if host == "" || strings.ContainsAny(host, "/?#@ ") {
		return fmt.Errorf("%w: host %q", ErrURLNotAllowed, host)
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("%w: port %d", ErrURLNotAllowed, port)
	}
	if !TargetAllowed(target) {
		return fmt.Errorf("%w: target %q", ErrURLNotAllowed, target)
	}
	return nil
}

// TargetAllowed reports whether storage nodes relay to this target path: it must start with
// "/loki/" or "/oxen/", end with "/lsrpc" and contain no '?'.
func TargetAllowed(target string) bool {
	return (strings.HasPrefix(target, "/loki/") || strings.HasPrefix(target, "/oxen/")) &&
		strings.HasSuffix(target, "/lsrpc") && !strings.Contains(target, "?")
}

func optJSON(m map[string]json.RawMessage, key string, v any) error {
	raw, ok := m[key]
	if !ok || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, key, err)
	}
	return nil
}

func parseKeyHex(s string) ([32]byte, error) {
	var k [32]byte
	if len(s) != 64 {
		return k, fmt.Errorf("want 64 hex characters, got %d", len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, err
	}
	return k, nil
}
