package groups

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

// userConfigKinds maps the user config domains to their SharedConfigMessage kinds.
var userConfigKinds = map[string]pb.SharedConfigMessage_Kind{
	DomainUserProfile:       pb.SharedConfigMessage_USER_PROFILE,
	DomainContacts:          pb.SharedConfigMessage_CONTACTS,
	DomainConvoInfoVolatile: pb.SharedConfigMessage_CONVO_INFO_VOLATILE,
	DomainUserGroups:        pb.SharedConfigMessage_USER_GROUPS,
}

// WrapUserConfig wraps an encrypted user config payload (EncodeConfigPayload with the user's
// seed) the way libsession's push does for the four user configs:
// WebSocketMessage{REQUEST{verb "", path "", requestId 0, body = Envelope{SESSION_MESSAGE,
// timestamp 1, content = deterministic Session Protocol encryption to ourselves of
// Content{sharedConfigMessage{kind, seqno, data}} ‖ 0x80}}}. The result is byte-reproducible.
func WrapUserConfig(keys *crypto.Keys, domain string, seqno int64, payload []byte) ([]byte, error) {
	if keys == nil {
		return nil, fmt.Errorf("%w: nil keys", ErrInvalidInput)
	}
	kind, ok := userConfigKinds[domain]
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a user config domain", ErrInvalidInput, domain)
	}
	content, err := proto.Marshal(&pb.Content{SharedConfigMessage: &pb.SharedConfigMessage{
		Kind: kind.Enum(), Seqno: proto.Int64(seqno), Data: payload,
	}})
	if err != nil {
		return nil, fmt.Errorf("groups: marshal config content: %w", err)
	}
	sealed, err := crypto.EncryptForRecipientDeterministic(keys, keys.X25519PublicKey(), append(content, 0x80))
	if err != nil {
		return nil, fmt.Errorf("groups: encrypt config: %w", err)
	}
	env, err := proto.Marshal(&pb.Envelope{Type: pb.Envelope_SESSION_MESSAGE.Enum(), Timestamp: proto.Uint64(1), Content: sealed})
	if err != nil {
		return nil, fmt.Errorf("groups: marshal envelope: %w", err)
	}
	return proto.Marshal(&pb.WebSocketMessage{
		Type: pb.WebSocketMessage_REQUEST.Enum(),
		Request: &pb.WebSocketRequestMessage{
			Verb: proto.String(""), Path: proto.String(""), Body: env, RequestId: proto.Uint64(0),
		},
	})
}

// unwrapUserConfig removes one layer of protobuf wrapping. It reports false if data is not a
// wrapped config of ours, with ErrForeign when it is one sealed by another account.
func unwrapUserConfig(keys *crypto.Keys, data []byte) ([]byte, bool, error) {
	var ws pb.WebSocketMessage
	if err := proto.Unmarshal(data, &ws); err != nil || ws.GetRequest() == nil {
		return nil, false, nil
	}
	var env pb.Envelope
	if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(ws.GetRequest().GetBody(), &env); err != nil || len(env.GetContent()) == 0 {
		return nil, false, nil
	}
	msg, _, sender, err := crypto.DecryptIncoming(keys, env.GetContent())
	if err != nil {
		return nil, false, nil
	}
	if sender != keys.AccountID() {
		return nil, false, fmt.Errorf("%w: sealed by %s", ErrForeign, sender)
	}
	// Strip the 0x80 ‖ 0x00* padding.
	n := len(msg)
	for n > 0 && msg[n-1] == 0 {
		n--
	}
	if n == 0 || msg[n-1] != 0x80 {
		return nil, false, nil
	}
	var content pb.Content
	if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(msg[:n-1], &content); err != nil || content.GetSharedConfigMessage() == nil {
		return nil, false, nil
	}
	return content.GetSharedConfigMessage().GetData(), true, nil
}

// ReadUserConfig turns a message retrieved from a user config namespace into the serialized
// config message: it removes libsession's protobuf wrapping (once, twice, or not at all, as
// libsession accepts), then decrypts with the user's seed and strips padding/compression.
func ReadUserConfig(keys *crypto.Keys, domain string, data []byte) ([]byte, error) {
	if keys == nil {
		return nil, fmt.Errorf("%w: nil keys", ErrInvalidInput)
	}
	if _, ok := userConfigKinds[domain]; !ok {
		return nil, fmt.Errorf("%w: %q is not a user config domain", ErrInvalidInput, domain)
	}
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("%w: config message is %d bytes (max %d)", ErrTooLarge, len(data), MaxConfigSize)
	}
	seed := keys.Seed()
	for depth := 0; depth < 3; depth++ {
		out, err := DecodeConfigPayload(data, seed, domain)
		if err == nil || !errors.Is(err, ErrDecrypt) {
			return out, err
		}
		inner, ok, werr := unwrapUserConfig(keys, data)
		if werr != nil {
			return nil, werr
		}
		if !ok {
			return nil, err
		}
		data = inner
	}
	return nil, fmt.Errorf("%w: config wrapped too deeply", ErrMalformed)
}

// PushUserConfig makes the bytes to store for a user config: Push, EncodeConfigPayload with
// the user's seed (compressed when smaller) and WrapUserConfig. It returns them with the seqno.
func PushUserConfig(keys *crypto.Keys, c *Config, domain string) ([]byte, int64, error) {
	ser, seq, err := c.Push()
	if err != nil {
		return nil, 0, err
	}
	payload, err := EncodeConfigPayload(ser, keys.Seed(), domain, true)
	if err != nil {
		return nil, 0, err
	}
	out, err := WrapUserConfig(keys, domain, seq, payload)
	return out, seq, err
}

// User config namespaces.
const (
	NamespaceUserProfile       = 2
	NamespaceContacts          = 3
	NamespaceConvoInfoVolatile = 4
	NamespaceUserGroups        = 5
)

var userConfigNamespaces = map[string]int{
	DomainUserProfile:       NamespaceUserProfile,
	DomainContacts:          NamespaceContacts,
	DomainConvoInfoVolatile: NamespaceConvoInfoVolatile,
	DomainUserGroups:        NamespaceUserGroups,
}

// UserDomains lists the four user config domains in namespace order.
var UserDomains = []string{DomainUserProfile, DomainContacts, DomainConvoInfoVolatile, DomainUserGroups}

// UserConfig is one of an account's four configs (UserProfile, Contacts, ConvoInfoVolatile,
// UserGroups) together with the account keys that encrypt it: it reads messages as the swarm
// stores them and makes the bytes to store. The embedded Config holds the state; the typed
// models (UserProfileFromData, ContactsFromData, ConvosFromData, UserGroupsFromData, ...)
// read and change its data through Data and Update.
type UserConfig struct {
	*Config
	keys   *crypto.Keys
	domain string
}

// OpenUserConfig returns the user config of domain for the account keys, restored from dump
// (a Dump of it; nil for an empty config).
func OpenUserConfig(keys *crypto.Keys, domain string, dump []byte) (*UserConfig, error) {
	if keys == nil {
		return nil, fmt.Errorf("%w: nil keys", ErrInvalidInput)
	}
	if _, ok := userConfigKinds[domain]; !ok {
		return nil, fmt.Errorf("%w: %q is not a user config domain", ErrInvalidInput, domain)
	}
	c := NewUserConfig()
	if dump != nil {
		var err error
		if c, err = RestoreConfig(dump, nil, nil); err != nil {
			return nil, err
		}
	}
	return &UserConfig{Config: c, keys: keys, domain: domain}, nil
}

// Domain returns the config's domain.
func (u *UserConfig) Domain() string { return u.domain }

// Namespace returns the swarm namespace the config lives in (2 to 5).
func (u *UserConfig) Namespace() int { return userConfigNamespaces[u.domain] }

// MergeStored merges messages retrieved from the config's namespace (as the swarm returned
// them: wrapped or bare, encrypted). Messages that do not decrypt with the account's key,
// were sealed by another account, are too large or do not parse are reported in Rejected
// and change nothing; the error is the first rejection's when no message was usable.
func (u *UserConfig) MergeStored(in []ConfigInput) (MergeResult, error) {
	var rejected []InputError
	plain := make([]ConfigInput, 0, len(in))
	for _, x := range in {
		ser, err := ReadUserConfig(u.keys, u.domain, x.Data)
		if err != nil {
			rejected = append(rejected, InputError{Hash: x.Hash, Err: err})
			continue
		}
		plain = append(plain, ConfigInput{Hash: x.Hash, Data: ser})
	}
	res, err := u.Config.MergeInputs(plain)
	res.Rejected = append(rejected, res.Rejected...)
	if len(res.Accepted) == 0 && len(res.Rejected) > 0 {
		err = res.Rejected[0].Err
	}
	return res, err
}

// UserConfigPush is a message to store in the config's namespace, from PrepareStore.
type UserConfigPush struct {
	Seqno int64
	Data  []byte // encrypted and wrapped, ready to store
	// Obsolete are the swarm hashes of the messages this one supersedes: delete them once it
	// is stored, then call ConfirmPushed with the new message's hash.
	Obsolete []string
}

// PrepareStore returns the current message encrypted and wrapped for storage (libsession's
// push): compressed when smaller, padded, encrypted with the account's seed and wrapped for
// protobuf readers. ConvoInfoVolatile first drops entries read more than ConvoPruneHigh
// before now. A message over MaxConfigSize is an error and changes nothing.
func (u *UserConfig) PrepareStore(now time.Time) (UserConfigPush, error) {
	if u.domain == DomainConvoInfoVolatile {
		if err := u.Update(func(d Dict) { PruneConvos(d, now) }); err != nil {
			return UserConfigPush{}, err
		}
	}
	var data []byte
	p, err := u.preparePush(func(p ConfigPush) error {
		payload, err := EncodeConfigPayload(p.Serialized, u.keys.Seed(), u.domain, true)
		if err != nil {
			return err
		}
		data, err = WrapUserConfig(u.keys, u.domain, p.Seqno, payload)
		if err == nil && len(data) > MaxConfigSize {
			err = fmt.Errorf("%w: config message is %d bytes (max %d)", ErrTooLarge, len(data), MaxConfigSize)
		}
		return err
	})
	if err != nil {
		return UserConfigPush{}, err
	}
	return UserConfigPush{Seqno: p.Seqno, Data: data, Obsolete: p.Obsolete}, nil
}
