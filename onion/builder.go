package onion

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/sessiongo/sdk/crypto"
)

// MaxHops is the longest path storage nodes forward (they stop past hop 15).
const MaxHops = 15

// V4Target is the target path of onion requests to servers (SOGS, file server).
const V4Target = "/oxen/v4/lsrpc"

// Hop is one node of a path, by its keys: Ed25519 names it in the previous hop's routing JSON
// and X25519 is what its layer is encrypted to.
type Hop struct {
	Ed25519 [32]byte
	X25519  [32]byte
}

// Destination is where the innermost layer goes: a storage node (NodeDestination) or an HTTP
// server reached through the last hop (ServerDestination).
type Destination interface{ isDestination() }

// NodeDestination is a storage node that runs the RPC payload itself. It is a hop after the
// path (a path of 3 plus the destination makes 4 layers).
type NodeDestination struct {
	Ed25519 [32]byte
	X25519  [32]byte
}

// ServerDestination is an HTTP server that speaks the onion protocol (a community server, the
// file server). The last hop POSTs the layer to Scheme://Host[:Port]Target; the server
// decrypts it with its X25519 key and answers a v4 bencoded reply encrypted to the client.
type ServerDestination struct {
	Host   string
	Scheme string // "https" or "http"; empty means https
	Port   uint16 // 0 means the scheme's default (443 or 80); always sent on the wire
	Target string // empty means V4Target
	X25519 [32]byte
}

func (NodeDestination) isDestination()   {}
func (ServerDestination) isDestination() {}

func (d ServerDestination) normalized() (ServerDestination, error) {
	if d.Scheme == "" {
		d.Scheme = "https"
	}
	if d.Target == "" {
		d.Target = V4Target
	}
	switch d.Scheme {
	case "https":
		if d.Port == 0 {
			d.Port = 443
		}
	case "http":
		if d.Port == 0 {
			d.Port = 80
		}
	default:
		return d, fmt.Errorf("%w: protocol %q", ErrURLNotAllowed, d.Scheme)
	}
	if d.Host == "" {
		return d, fmt.Errorf("%w: empty host", ErrURLNotAllowed)
	}
	if !TargetAllowed(d.Target) {
		return d, fmt.Errorf("%w: target %q", ErrURLNotAllowed, d.Target)
	}
	return d, nil
}

// BuildOptions tune Build. The zero value (or nil) is fine for real use.
type BuildOptions struct {
	// EncType is used for every layer; zero means XChaCha20.
	EncType EncType
	// Rand supplies key and nonce bytes; nil means crypto/rand. Build reads, for each layer
	// from the innermost (the destination's) out to the guard's, a 32-byte X25519 private key
	// and then that layer's nonce (24 or 12 bytes). Tests inject fixed bytes this way.
	Rand io.Reader
}

// Onion is a built onion request: the body to POST to the guard, and what is needed to
// decrypt the destination's reply. It is safe for concurrent use.
type Onion struct {
	// Body is the outer frame to POST to https://<guard>/onion_req/v2.
	Body []byte

	enc    EncType
	eph    KeyPair  // the destination layer's ephemeral key pair
	destX  [32]byte // the destination's X25519 key
	reply  *Channel
	server bool
}

// EncType returns the enc type of every layer.
func (o *Onion) EncType() EncType { return o.enc }

// DestinationKey returns the ephemeral public key of the destination layer: the key the
// destination encrypts its reply to.
func (o *Onion) DestinationKey() [32]byte { return o.eph.Public }

// Build wraps payload for the destination and then for each hop of path (guard first), with
// fresh ephemeral keys for every layer. For a NodeDestination the payload is the storage RPC
// JSON ({"method":…,"params":…}); for a ServerDestination it is a v4 request (EncodeV4Request).
func Build(path []Hop, dest Destination, payload []byte, opts *BuildOptions) (*Onion, error) {
	var o BuildOptions
	if opts != nil {
		o = *opts
	}
	if o.EncType == 0 {
		o.EncType = XChaCha20
	}
	if !o.EncType.valid() {
		return nil, fmt.Errorf("%w: %v", ErrUnknownEncType, o.EncType)
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if len(path) == 0 || len(path) > MaxHops-1 {
		return nil, fmt.Errorf("onion: path of %d hops (want 1..%d)", len(path), MaxHops-1)
	}
	enc := o.EncType
	encName := enc.String()
	b, err := newBuilder(enc, o.Rand, len(path)+1)
	if err != nil {
		return nil, err
	}

	// The destination layer, and the routing JSON its last hop reads.
	var (
		destX   [32]byte
		route   routingJSON
		destEd  [32]byte
		isSvr   bool
		svrDest ServerDestination
	)
	switch d := dest.(type) { // accept pointers too
	case *NodeDestination:
		if d != nil {
			dest = *d
		}
	case *ServerDestination:
		if d != nil {
			dest = *d
		}
	}
	switch d := dest.(type) {
	case NodeDestination:
		destX, destEd = d.X25519, d.Ed25519
	case ServerDestination:
		var err error
		if svrDest, err = d.normalized(); err != nil {
			return nil, err
		}
		destX, isSvr = svrDest.X25519, true
	default:
		return nil, fmt.Errorf("onion: unsupported destination %T", dest)
	}
	// The layers are built in place in one buffer, from the payload outwards: each one puts
	// its frame's length and its nonce in front of what is there and its tag and routing JSON
	// behind it (the AEAD encrypts in place), so an onion costs one buffer instead of two
	// copies of the whole request per layer.
	ob := newOnionBuffer(enc, len(path), payload, !isSvr)
	if !isSvr {
		ob.frame(finalHeaders)
	}
	eph, reply, err := b.layer(0, &ob, destX)
	if err != nil {
		return nil, err
	}
	route.b = make([]byte, 0, 192)
	route.open()
	if isSvr {
		route.str("enc_type", encName)
		route.hex("ephemeral_key", eph.Public[:])
		route.str("host", svrDest.Host)
		route.str("method", "POST")
		route.int("port", int(svrDest.Port))
		route.str("protocol", svrDest.Scheme)
		route.str("target", svrDest.Target)
	} else {
		route.hex("destination", destEd[:])
		route.str("enc_type", encName)
		route.hex("ephemeral_key", eph.Public[:])
	}
	out := &Onion{enc: enc, eph: eph, destX: destX, reply: reply, server: isSvr}

	// Hop layers from the last hop back to the guard.
	for i := len(path) - 1; i >= 0; i-- {
		ob.frame(route.close())
		hopEph, _, err := b.layer(len(path)-i, &ob, path[i].X25519)
		if err != nil {
			return nil, fmt.Errorf("onion: hop %d: %w", i, err)
		}
		route.b = route.b[:0]
		route.open()
		if i > 0 {
			route.hex("destination", path[i].Ed25519[:])
		}
		route.str("enc_type", encName)
		route.hex("ephemeral_key", hopEph.Public[:])
	}
	ob.frame(route.close())
	out.Body = ob.bytes()
	return out, nil
}

// onionBuffer holds an onion being built: the current layer is buf[start:end], with room in
// front for every length prefix and nonce still to come (exactly) and room behind for the tags
// and routing JSON (estimated: appending grows it if needed).
type onionBuffer struct {
	buf        []byte
	start, end int
}

// routeRoom is the room kept per layer for a routing JSON (a hop's is about 160 bytes).
const routeRoom = 192

func newOnionBuffer(enc EncType, hops int, payload []byte, framed bool) onionBuffer {
	layers := hops + 1
	front := layers*enc.NonceSize() + (hops+1)*4 // a nonce per layer; a length prefix per hop frame and the body's
	if framed {
		front += 4 // the destination node's own frame
	}
	back := layers*(enc.Overhead()-enc.NonceSize()) + (hops+1)*routeRoom + len(finalHeaders)
	buf := make([]byte, front+len(payload), front+len(payload)+back)
	copy(buf[front:], payload)
	return onionBuffer{buf: buf, start: front, end: front + len(payload)}
}

// frame makes the current layer u32_le(len) ‖ layer ‖ tail (appendFrame's framing).
func (ob *onionBuffer) frame(tail []byte) {
	n := ob.end - ob.start
	ob.start -= 4
	binary.LittleEndian.PutUint32(ob.buf[ob.start:], uint32(n))
	ob.buf = append(ob.buf[:ob.end], tail...)
	ob.end = len(ob.buf)
}

// seal encrypts the current layer in place with nonce: nonce ‖ ciphertext ‖ tag.
func (ob *onionBuffer) seal(aead cipher.AEAD, nonce []byte) {
	if cap(ob.buf)-ob.end < aead.Overhead() { // no room for the tag: move to a larger buffer
		nb := make([]byte, ob.end, 2*cap(ob.buf)+aead.Overhead())
		copy(nb, ob.buf[:ob.end])
		ob.buf = nb
	}
	// With room for the tag, Seal writes over its plaintext (dst = plaintext[:0]).
	sealed := aead.Seal(ob.buf[ob.start:ob.start], nonce, ob.buf[ob.start:ob.end], nil)
	ob.end = ob.start + len(sealed)
	ob.buf = ob.buf[:ob.end]
	ob.start -= len(nonce)
	copy(ob.buf[ob.start:], nonce)
}

func (ob *onionBuffer) bytes() []byte { return ob.buf[ob.start:ob.end:ob.end] }

// finalHeaders marks the destination node's layer (only the key's presence matters).
var finalHeaders = []byte(`{"headers":""}`)

// builder holds the per-layer randomness of one onion, read up front in the documented order
// (for each layer from the innermost: private key, then nonce), so that the key pairs can be
// made together (x25519BaseBatch).
type builder struct {
	enc    EncType
	keys   []KeyPair
	nonces [][]byte
}

func newBuilder(enc EncType, r io.Reader, layers int) (*builder, error) {
	b := &builder{enc: enc, keys: make([]KeyPair, layers), nonces: make([][]byte, layers)}
	ns := enc.NonceSize()
	nonces := make([]byte, layers*ns)
	privs := make([][32]byte, layers)
	for i := range layers {
		if _, err := io.ReadFull(r, privs[i][:]); err != nil {
			return nil, fmt.Errorf("onion: generating key: %w", err)
		}
		b.nonces[i] = nonces[i*ns : (i+1)*ns : (i+1)*ns]
		if _, err := io.ReadFull(r, b.nonces[i]); err != nil {
			return nil, fmt.Errorf("onion: reading nonce: %w", err)
		}
	}
	pubs := make([][32]byte, layers)
	crypto.X25519BaseBatch(pubs, privs)
	for i := range b.keys {
		b.keys[i] = KeyPair{Public: pubs[i], Private: privs[i]}
	}
	return b, nil
}

// layer seals the current layer of ob in place to the node with X25519 key to, with layer i's
// key pair and nonce.
func (b *builder) layer(i int, ob *onionBuffer, to [32]byte) (KeyPair, *Channel, error) {
	kp := b.keys[i]
	key, err := deriveKey(b.enc, RoleClient, &kp.Private, &kp.Public, &to)
	if err != nil {
		return kp, nil, err
	}
	ch, err := NewChannel(b.enc, key)
	if err != nil {
		return kp, nil, err
	}
	ob.seal(ch.aead, b.nonces[i])
	return kp, ch, nil
}
