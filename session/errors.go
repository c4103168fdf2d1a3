package session

import "errors"

// Errors of the message layer. Functions wrap them with details; match them with errors.Is.
// Decryption failures come from package crypto (crypto.ErrDecrypt, crypto.ErrBadSignature, …)
// and are passed through wrapped.
var (
	// ErrInvalidPadding reports a padded message that is empty or all zero bytes.
	ErrInvalidPadding = errors.New("session: invalid padding")
	// ErrInvalidRecipient reports a recipient that is not a standard (05) Account ID.
	ErrInvalidRecipient = errors.New("session: recipient is not a 05 Account ID")
	// ErrInvalidEncoding reports stored message data that is not base64.
	ErrInvalidEncoding = errors.New("session: message data is not base64")
	// ErrInvalidEnvelope reports a WebSocketMessage or Envelope that does not parse or lacks
	// the request, body or content a message needs.
	ErrInvalidEnvelope = errors.New("session: invalid envelope")
	// ErrUnsupportedEnvelope reports an Envelope of a type other than SESSION_MESSAGE (legacy
	// closed-group messages).
	ErrUnsupportedEnvelope = errors.New("session: unsupported envelope type")
	// ErrInvalidContent reports a Content that does not serialize (a required field is
	// missing) or, once decrypted, does not parse.
	ErrInvalidContent = errors.New("session: invalid content")
	// ErrTimestampMismatch reports a Content whose sigTimestamp is set and differs from the
	// Envelope timestamp. Official clients drop such messages: the Envelope is not signed, and
	// sigTimestamp is what binds the sent time to the signed content.
	ErrTimestampMismatch = errors.New("session: content sigTimestamp differs from envelope timestamp")
	// ErrSenderBlocked reports a message dropped because its sender is blocked (see
	// [Client.Block]).
	ErrSenderBlocked = errors.New("session: sender is blocked")
	// ErrMessageTooOld reports a retrieved 1:1 or group message that was already older than
	// store.MaxMessageTTL + store.PruneMargin when the store saved it: no swarm keeps a message
	// that long, and the store's record of having seen it may be gone, so it is a node serving
	// an old message again (a replay). It is dropped, not delivered.
	ErrMessageTooOld = errors.New("session: message older than any swarm keeps one (a replay)")
)
