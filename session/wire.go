package session

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"filippo.io/edwards25519"
	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

// SourceDevice is the Envelope sourceDevice that current clients write.
const SourceDevice = 1

// ProSigSize is the size of Envelope.proSig: an Ed25519 signature.
const ProSigSize = 64

// decoyProSig returns what libsession puts in Envelope.proSig for a sender without Session Pro:
// a validly encoded Ed25519 signature that verifies against nothing (R = r·B for a random
// scalar r, S another random scalar), so that it cannot be told from a real one.
func decoyProSig() []byte {
	var seed [128]byte
	_, _ = rand.Read(seed[:]) // never fails since Go 1.24
	r, _ := edwards25519.NewScalar().SetUniformBytes(seed[:64])
	s, _ := edwards25519.NewScalar().SetUniformBytes(seed[64:])
	out := make([]byte, 0, ProSigSize)
	out = append(out, new(edwards25519.Point).ScalarBaseMult(r).Bytes()...)
	return append(out, s.Bytes()...)
}

// Incoming is a decoded 1:1 message.
type Incoming struct {
	// Sender is the sender's 05 Account ID, taken from the signature inside the sealed content
	// (the Envelope itself carries no sender for 1:1 messages).
	Sender crypto.AccountID
	// SenderEd25519 is the Ed25519 key that signed the message.
	SenderEd25519 [32]byte
	// Timestamp is the Envelope timestamp in milliseconds since 1970: the sent time, which
	// also identifies the message in quotes, reactions, receipts and unsend requests.
	Timestamp uint64
	// Content is the decrypted message.
	Content *pb.Content
	// ProSig is the Envelope's Session Pro signature: a real one, or the random decoy that
	// senders without Pro write (they cannot be told apart without the Pro proof in Content);
	// nil when absent (older clients).
	ProSig []byte
}

// SentAt returns Timestamp as a time.Time.
func (m *Incoming) SentAt() time.Time { return time.UnixMilli(int64(m.Timestamp)) }

// EncodeMessage builds what is stored in recipient's swarm (namespace 0) for content sent at
// sentAt: Content with sigTimestamp set to sentAt in ms (content is not modified; a sigTimestamp
// already set must be equal), serialized, padded and sealed from sender to recipient, wrapped in
// an Envelope and a WebSocketMessage, base64-encoded. It writes the current form of
// libsession-based clients: sourceDevice 1, empty verb and path, 160-multiple padding, and a
// random 64-byte decoy in Envelope.proSig, as libsession writes for senders without Session Pro
// (so that Pro and non-Pro messages look alike, and because its decoder will stop accepting
// envelopes without one).
func EncodeMessage(sender *crypto.Keys, recipient crypto.AccountID, content *pb.Content, sentAt time.Time) (string, error) {
	wire, err := encodeMessage(sender, recipient, content, sentAt)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(wire), nil
}

// encodeMessage is EncodeMessage before base64: the serialized WebSocketMessage, which the
// Client stores as is (the storage request base64-encodes it).
func encodeMessage(sender *crypto.Keys, recipient crypto.AccountID, content *pb.Content, sentAt time.Time) ([]byte, error) {
	if content == nil {
		return nil, fmt.Errorf("%w: nil content", ErrInvalidContent)
	}
	ms := sentAt.UnixMilli()
	if ms <= 0 {
		return nil, fmt.Errorf("session: sent time %v is not after 1970", sentAt)
	}
	ts := uint64(ms)
	if content.SigTimestamp == nil {
		content = proto.Clone(content).(*pb.Content)
		content.SigTimestamp = proto.Uint64(ts)
	} else if content.GetSigTimestamp() != ts {
		return nil, fmt.Errorf("%w: sigTimestamp %d, sent at %d", ErrTimestampMismatch, content.GetSigTimestamp(), ts)
	}
	plain, err := proto.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidContent, err)
	}
	ct, err := Seal(sender, recipient, plain)
	if err != nil {
		return nil, err
	}
	return EncodeEnvelope(ct, ts, decoyProSig())
}

// EncodeEnvelope wraps a sealed Content (see [Seal]) sent at timestampMs in an Envelope
// (SESSION_MESSAGE, sourceDevice 1, proSig when not nil) and a WebSocketMessage request with
// empty verb and path, and returns the serialized WebSocketMessage: the bytes that are
// base64-encoded for storage. [EncodeMessage] passes a decoy proSig; nil leaves the
// field out, the form of older clients.
func EncodeEnvelope(sealed []byte, timestampMs uint64, proSig []byte) ([]byte, error) {
	env, err := proto.Marshal(&pb.Envelope{
		Type:         pb.Envelope_SESSION_MESSAGE.Enum(),
		Timestamp:    proto.Uint64(timestampMs),
		SourceDevice: proto.Uint32(SourceDevice),
		Content:      sealed,
		ProSig:       proSig,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEnvelope, err)
	}
	wire, err := proto.Marshal(&pb.WebSocketMessage{
		Type: pb.WebSocketMessage_REQUEST.Enum(),
		Request: &pb.WebSocketRequestMessage{
			Verb:      proto.String(""),
			Path:      proto.String(""),
			Body:      env,
			RequestId: proto.Uint64(0),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEnvelope, err)
	}
	return wire, nil
}

// DecodeEnvelope parses a serialized WebSocketMessage (base64-decoded stored data) and returns
// the Envelope in its request body. It accepts both forms clients write: verb "PUT" and path
// "/api/v1/message" (older desktop, session.js) or empty ones (libsession), with or without
// sourceDevice. It does not check the Envelope type.
func DecodeEnvelope(wire []byte) (*pb.Envelope, error) {
	var ws pb.WebSocketMessage
	if err := proto.Unmarshal(wire, &ws); err != nil {
		return nil, fmt.Errorf("%w: WebSocketMessage: %w", ErrInvalidEnvelope, err)
	}
	if ws.Type != nil && ws.GetType() != pb.WebSocketMessage_REQUEST {
		return nil, fmt.Errorf("%w: WebSocketMessage of type %v", ErrInvalidEnvelope, ws.GetType())
	}
	if len(ws.GetRequest().GetBody()) == 0 {
		return nil, fmt.Errorf("%w: WebSocketMessage without a request body", ErrInvalidEnvelope)
	}
	var env pb.Envelope
	if err := proto.Unmarshal(ws.GetRequest().GetBody(), &env); err != nil {
		return nil, fmt.Errorf("%w: Envelope: %w", ErrInvalidEnvelope, err)
	}
	return &env, nil
}

// DecodeMessage reverses EncodeMessage for a message stored in our swarm: it decodes the base64
// data, parses the WebSocketMessage and Envelope, decrypts and checks the content with keys,
// unpads and parses it. A Content whose sigTimestamp is set but differs from the Envelope
// timestamp is rejected with ErrTimestampMismatch, as official clients drop it; an unset or zero
// sigTimestamp (old clients) is accepted.
func DecodeMessage(keys *crypto.Keys, data string) (*Incoming, error) {
	wire, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		if wire, err = base64.RawStdEncoding.DecodeString(data); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidEncoding, err)
		}
	}
	return decodeWire(keys, wire)
}

// decodeWire is DecodeMessage for the stored bytes after base64 decoding.
func decodeWire(keys *crypto.Keys, wire []byte) (*Incoming, error) {
	env, err := DecodeEnvelope(wire)
	if err != nil {
		return nil, err
	}
	if env.GetType() != pb.Envelope_SESSION_MESSAGE {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedEnvelope, env.GetType())
	}
	if len(env.GetContent()) == 0 {
		return nil, fmt.Errorf("%w: Envelope without content", ErrInvalidEnvelope)
	}
	padded, senderEd, sender, err := crypto.DecryptIncoming(keys, env.GetContent())
	if err != nil {
		return nil, fmt.Errorf("session: decode message: %w", err)
	}
	plain, err := Unpad(padded)
	if err != nil {
		return nil, fmt.Errorf("session: decode message: %w", err)
	}
	var content pb.Content
	if err := proto.Unmarshal(plain, &content); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidContent, err)
	}
	ts := env.GetTimestamp()
	if st := content.GetSigTimestamp(); st != 0 && st != ts {
		return nil, fmt.Errorf("%w: sigTimestamp %d, envelope %d", ErrTimestampMismatch, st, ts)
	}
	return &Incoming{Sender: sender, SenderEd25519: senderEd, Timestamp: ts, Content: &content, ProSig: env.GetProSig()}, nil
}
