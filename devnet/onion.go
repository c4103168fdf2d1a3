package devnet

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/sessiongo/sdk/crypto"
)

// Server side of onion requests (storage-server spec section 4), written from the spec. The hop
// cipher is a few lines over x/crypto and the standard library; it is checked against the upstream
// hop_decrypt_server and onion_parse_and_reply vectors in the tests.

const (
	maxHops       = 15
	relayTimeout  = 25 * time.Second
	gcmNonceSize  = 12
	cbcIVSize     = 16
	relayMaxReply = 16 << 20
)

type encType int

const (
	encGCM encType = iota
	encXChaCha
	encCBC
)

func parseEncType(s string) (encType, bool) {
	switch s {
	case "", "aes-gcm", "gcm":
		return encGCM, true
	case "xchacha20", "xchacha20-poly1305":
		return encXChaCha, true
	case "aes-cbc", "cbc":
		return encCBC, true
	}
	return 0, false
}

var errDecrypt = errors.New("devnet: onion layer decryption failed")

// hopKey derives the symmetric key of one layer from the node's X25519 secret and the client's
// ephemeral key: HMAC-SHA256(key="LOKI", shared) for aes-gcm; BLAKE2b-256(shared || client ||
// node) for xchacha20; the raw shared secret for aes-cbc.
func hopKey(t encType, nodeSec, nodePub, client [32]byte) ([]byte, error) {
	// crypto.X25519 rather than x/crypto/curve25519, which also derives nodeSec's public key
	// (a second ladder) on every call.
	sh, ok := crypto.X25519(&nodeSec, &client)
	if !ok {
		return nil, errDecrypt
	}
	shared := sh[:]
	switch t {
	case encGCM:
		m := hmac.New(sha256.New, []byte("LOKI"))
		m.Write(shared)
		return m.Sum(nil), nil
	case encXChaCha:
		h := blake2b.Sum256(append(append(shared, client[:]...), nodePub[:]...))
		return h[:], nil
	default:
		return shared, nil
	}
}

func hopDecrypt(t encType, key, ct []byte) ([]byte, error) {
	switch t {
	case encGCM:
		if len(ct) < gcmNonceSize+16 {
			return nil, errDecrypt
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, errDecrypt
		}
		g, err := cipher.NewGCM(block)
		if err != nil {
			return nil, errDecrypt
		}
		pt, err := g.Open(nil, ct[:gcmNonceSize], ct[gcmNonceSize:], nil)
		if err != nil {
			return nil, errDecrypt
		}
		return pt, nil
	case encXChaCha:
		if len(ct) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
			return nil, errDecrypt
		}
		a, err := chacha20poly1305.NewX(key)
		if err != nil {
			return nil, errDecrypt
		}
		pt, err := a.Open(nil, ct[:chacha20poly1305.NonceSizeX], ct[chacha20poly1305.NonceSizeX:], nil)
		if err != nil {
			return nil, errDecrypt
		}
		return pt, nil
	default:
		if len(ct) < 2*cbcIVSize || len(ct)%cbcIVSize != 0 {
			return nil, errDecrypt
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, errDecrypt
		}
		pt := make([]byte, len(ct)-cbcIVSize)
		cipher.NewCBCDecrypter(block, ct[:cbcIVSize]).CryptBlocks(pt, ct[cbcIVSize:])
		pad := int(pt[len(pt)-1])
		if pad == 0 || pad > cbcIVSize || pad > len(pt) {
			return nil, errDecrypt
		}
		for _, b := range pt[len(pt)-pad:] {
			if int(b) != pad {
				return nil, errDecrypt
			}
		}
		return pt[:len(pt)-pad], nil
	}
}

func hopEncrypt(t encType, key, pt []byte) ([]byte, error) {
	switch t {
	case encGCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		g, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		out := make([]byte, gcmNonceSize, gcmNonceSize+len(pt)+16)
		if _, err := io.ReadFull(crand.Reader, out); err != nil {
			return nil, err
		}
		return g.Seal(out, out, pt, nil), nil
	case encXChaCha:
		a, err := chacha20poly1305.NewX(key)
		if err != nil {
			return nil, err
		}
		out := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(pt)+16)
		if _, err := io.ReadFull(crand.Reader, out); err != nil {
			return nil, err
		}
		return a.Seal(out, out, pt, nil), nil
	default:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		pad := cbcIVSize - len(pt)%cbcIVSize
		padded := append(append([]byte(nil), pt...), bytes.Repeat([]byte{byte(pad)}, pad)...)
		out := make([]byte, cbcIVSize+len(padded))
		if _, err := io.ReadFull(crand.Reader, out[:cbcIVSize]); err != nil {
			return nil, err
		}
		cipher.NewCBCEncrypter(block, out[:cbcIVSize]).CryptBlocks(out[cbcIVSize:], padded)
		return out, nil
	}
}

// splitFrame parses u32_le(N) || blob[N] || json.
func splitFrame(b []byte) (blob, js []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

func hex32(s string) ([32]byte, bool) {
	var k [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return k, false
	}
	copy(k[:], b)
	return k, true
}

// onionEntry handles POST /onion_req/v2 and returns the HTTP status and body.
func (n *Node) onionEntry(ctx context.Context, body []byte) (int, []byte) {
	blob, js, ok := splitFrame(body)
	if !ok {
		return http.StatusBadRequest, []byte("Invalid onion request")
	}
	var meta struct {
		EphemeralKey string          `json:"ephemeral_key"`
		EncType      string          `json:"enc_type"`
		HopNo        json.RawMessage `json:"hop_no"`
	}
	if err := json.Unmarshal(js, &meta); err != nil {
		return http.StatusBadRequest, []byte("Invalid onion request: bad json")
	}
	eph, ok := hex32(meta.EphemeralKey)
	if !ok {
		return http.StatusBadRequest, []byte("Invalid onion request: bad ephemeral_key")
	}
	et, ok := parseEncType(meta.EncType)
	if !ok {
		return http.StatusBadRequest, []byte("Invalid onion request: unknown enc_type")
	}
	hop := int64(0)
	if len(meta.HopNo) > 0 && !isNull(meta.HopNo) {
		h, err := parseJSONInt(meta.HopNo)
		if err != nil || h < 0 {
			return http.StatusBadRequest, []byte("Invalid onion request: bad hop_no")
		}
		hop = h
	}
	return n.onionHop(ctx, blob, eph, et, hop)
}

// onionHop peels this node's layer and acts on it: execute as the final node, relay to a server,
// or forward to the next node.
func (n *Node) onionHop(ctx context.Context, ct []byte, eph [32]byte, et encType, hop int64) (int, []byte) {
	if n.Faults().Status == http.StatusServiceUnavailable {
		return http.StatusServiceUnavailable, []byte("Snode not ready: " + n.edHex())
	}
	if hop > maxHops {
		return http.StatusBadRequest, []byte("onion request max path length exceeded")
	}
	key, err := hopKey(et, n.xPriv, n.xPub, eph)
	if err != nil {
		return http.StatusBadRequest, []byte("Invalid ciphertext")
	}
	pt, err := hopDecrypt(et, key, ct)
	if err != nil {
		return http.StatusBadRequest, []byte("Invalid ciphertext")
	}
	inner, js, ok := splitFrame(pt)
	var route map[string]json.RawMessage
	if ok {
		if json.Unmarshal(js, &route) != nil || route == nil {
			ok = false
		}
	}
	if !ok {
		return n.sealReply(et, key, true, obj{"status": http.StatusBadRequest, "body": "Invalid json"})
	}
	p := params(route)
	if _, final := route["headers"]; final {
		asJSON, _ := p.boolOr("json", false)
		b64, _ := p.boolOr("base64", true)
		r := n.rpcBody(ctx, inner)
		var body any
		switch {
		case !r.isJSON():
			body = r.text
		case asJSON:
			body = r.json
		default:
			body = string(r.bytes())
		}
		return n.sealReply(et, key, b64, obj{"status": r.code, "body": body})
	}
	if _, server := route["host"]; server {
		return n.relayToServer(ctx, pt, p, et, key)
	}
	dest, _, _ := p.str("destination")
	destKey, okDest := hex32(dest)
	ephS, _, _ := p.str("ephemeral_key")
	nextEph, okEph := hex32(ephS)
	encS, _, _ := p.str("enc_type")
	nextEt, okEt := parseEncType(encS)
	if !okDest || !okEph || !okEt {
		return n.sealReply(et, key, true, obj{"status": http.StatusBadRequest, "body": "Invalid json"})
	}
	next, found := n.nw.Node(destKey)
	if !found {
		return http.StatusBadGateway, []byte("Next node not found: " + dest)
	}
	return next.onionForwarded(ctx, inner, nextEph, nextEt, hop+1)
}

// onionForwarded is a layer arriving from another node (sn.onion_request): the receiving node's
// faults apply as they would to a real hop-to-hop request.
func (n *Node) onionForwarded(ctx context.Context, ct []byte, eph [32]byte, et encType, hop int64) (int, []byte) {
	if !n.Running() {
		return http.StatusGatewayTimeout, []byte("Request time out")
	}
	n.mu.Lock()
	f := n.faults
	drop := n.rollLocked(f.DropRate)
	corrupt := n.rollLocked(f.CorruptRate)
	n.mu.Unlock()
	if drop {
		return http.StatusGatewayTimeout, []byte("Request time out")
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return http.StatusGatewayTimeout, []byte("Request time out")
		}
	}
	st, body := n.onionHop(ctx, ct, eph, et, hop)
	if corrupt && len(body) > 0 {
		n.mu.Lock()
		j := n.faultRng.IntN(len(body))
		body[j] ^= byte(1 + n.faultRng.IntN(255))
		n.mu.Unlock()
	}
	return st, body
}

func (n *Node) sealReply(et encType, key []byte, b64 bool, v obj) (int, []byte) {
	pt, err := json.Marshal(v)
	if err != nil {
		return http.StatusInternalServerError, []byte("request failed")
	}
	ct, err := hopEncrypt(et, key, pt)
	if err != nil {
		return http.StatusInternalServerError, []byte("request failed")
	}
	if b64 {
		return http.StatusOK, []byte(base64.StdEncoding.EncodeToString(ct))
	}
	return http.StatusOK, ct
}

// targetAllowed is the storage server's URL filter for relayed server requests.
func targetAllowed(target string) bool {
	return (strings.HasPrefix(target, "/oxen/") || strings.HasPrefix(target, "/loki/")) &&
		strings.HasSuffix(target, "/lsrpc") && !strings.Contains(target, "?")
}

func (n *Node) relayToServer(ctx context.Context, plaintext []byte, p params, et encType, key []byte) (int, []byte) {
	host, _, errH := p.str("host")
	target, _, errT := p.str("target")
	protocol, hasProto, errP := p.str("protocol")
	port, hasPort, errPort := p.int64Of("port", true)
	if !hasProto {
		protocol = "https"
	}
	if !hasPort {
		port = 443
	}
	if errH != nil || errT != nil || errP != nil || errPort != nil || host == "" ||
		(protocol != "http" && protocol != "https") || !targetAllowed(target) || port <= 0 || port > 65535 ||
		strings.ContainsAny(host, "/@?#") {
		return n.sealReply(et, key, true, obj{"status": http.StatusBadRequest, "body": "Invalid url"})
	}
	url := protocol + "://" + host
	if !(protocol == "https" && port == 443) && !(protocol == "http" && port == 80) {
		url += ":" + strconv.FormatInt(port, 10)
	}
	url += target
	ctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(plaintext))
	if err != nil {
		return n.sealReply(et, key, true, obj{"status": http.StatusBadRequest, "body": "Invalid url"})
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := n.nw.relay.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return http.StatusGatewayTimeout, []byte("Request time out")
		}
		return http.StatusBadGateway, []byte(err.Error())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, relayMaxReply))
	if err != nil {
		return http.StatusBadGateway, []byte(err.Error())
	}
	return resp.StatusCode, body
}

// newRelayClient is the HTTP client nodes use to reach server destinations: loopback only (aliases
// from WithHostAlias), TLS ≥ 1.2 verified against the devnet CA, no redirects.
func (nw *Network) newRelayClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if a, ok := nw.alias(host); ok {
				return dialer.DialContext(ctx, "tcp", a)
			}
			if strings.EqualFold(host, "localhost") {
				host = "127.0.0.1"
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !ip.IsLoopback() {
				return nil, fmt.Errorf("devnet relays only to loopback or aliased hosts, not %q", host)
			}
			return dialer.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), port))
		},
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// Aliased hosts present devnet certificates for 127.0.0.1/localhost, so the chain is
			// checked against the devnet CA without matching the host name.
			InsecureSkipVerify: true,
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 {
					return errors.New("no certificate")
				}
				certs := make([]*x509.Certificate, 0, len(raw))
				for _, r := range raw {
					c, err := x509.ParseCertificate(r)
					if err != nil {
						return err
					}
					certs = append(certs, c)
				}
				inter := x509.NewCertPool()
				for _, c := range certs[1:] {
					inter.AddCert(c)
				}
				_, err := certs[0].Verify(x509.VerifyOptions{Roots: nw.pool, Intermediates: inter})
				return err
			},
		},
		ForceAttemptHTTP2:     false,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: relayTimeout,
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// IssueCertificate issues a TLS certificate for 127.0.0.1/localhost signed by the devnet CA, for
// servers (community or file server emulators) that nodes relay onion requests to.
func (nw *Network) IssueCertificate() (tls.Certificate, error) { return nw.issueCert() }
