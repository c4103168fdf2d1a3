package groups

import (
	"fmt"
	"slices"
	"sync"
)

// Config domains (the encryption domain of each config type).
const (
	DomainUserProfile       = "UserProfile"
	DomainContacts          = "Contacts"
	DomainConvoInfoVolatile = "ConvoInfoVolatile"
	DomainUserGroups        = "UserGroups"
	DomainGroupInfo         = "groups::Info"
	DomainGroupMembers      = "groups::Members"
)

// configState is where a config stands with the swarm (libsession's ConfigState).
type configState uint8

const (
	stateClean   configState = 0 // the current message is stored in the swarm (or nothing to store)
	stateDirty   configState = 1 // local changes or a merge result need pushing
	stateWaiting configState = 2 // pushed; waiting for ConfirmPushed
)

// Config is the state of one config object (a user config, or a group's Info or Members): the
// current message, local changes not yet pushed, and the swarm hashes of the messages it
// knows. It implements libsession's seqno, merge and push rules, so that every device of an
// account (and every admin of a group) converges on the same bytes. A Config is safe for
// concurrent use.
//
// The life of a change: Update (the config becomes dirty at the next seqno), PreparePush (the
// message to store, and the hashes of the swarm messages it supersedes), store it, then
// ConfirmPushed with its swarm hash. Messages from other devices go through MergeInputs.
type Config struct {
	mu     sync.Mutex
	verify *[32]byte // group configs: the group key every message must be signed by
	signer *AdminKey // group configs: nil for non-admins (read-only)
	msg    *message
	state  configState
	// currHash is the swarm hash of the current message once it is known to be stored;
	// oldHashes are the swarm hashes of messages the current one supersedes.
	currHash  string
	oldHashes map[string]struct{}
}

func newConfig(verify *[32]byte, signer *AdminKey) *Config {
	return &Config{verify: verify, signer: signer, msg: newEmptyMessage(), oldHashes: map[string]struct{}{}}
}

// NewUserConfig returns an empty, unsigned config (the user configs).
func NewUserConfig() *Config { return newConfig(nil, nil) }

// NewGroupConfig returns an empty group config (Info or Members) of the group with Ed25519 key
// groupPK. Every message merged into it must be signed by the group key. admin, if not nil,
// is the group's secret key, used to sign pushes; without it the config is read-only and, as
// in libsession, merging just keeps the highest (seqno, hash).
func NewGroupConfig(groupPK [32]byte, admin *AdminKey) (*Config, error) {
	if admin != nil && admin.PublicKey() != groupPK {
		return nil, fmt.Errorf("%w: admin key is not the group's key", ErrInvalidInput)
	}
	pk := groupPK
	return newConfig(&pk, admin), nil
}

func (c *Config) readOnly() bool { return c.verify != nil && c.signer == nil }

func (c *Config) sign() func([]byte) [64]byte {
	if c.signer == nil {
		return nil
	}
	return c.signer.Sign
}

// setState moves to state s. Leaving a clean state makes the stored message obsolete.
func (c *Config) setState(s configState) {
	if c.state == stateClean && c.currHash != "" {
		c.oldHashes[c.currHash] = struct{}{}
		c.currHash = ""
	}
	c.state = s
}

// dirty makes the current message mutable at the next seqno, once per round of changes.
func (c *Config) dirty() {
	if c.state != stateDirty || !c.msg.mutable {
		c.msg = c.msg.increment(c.sign())
	}
	c.setState(stateDirty)
}

// ReadOnly reports a group config without the admin key: it can merge but not change.
func (c *Config) ReadOnly() bool { return c.readOnly() }

// Seqno returns the seqno of the current message (the next one to push while there are
// unpushed changes).
func (c *Config) Seqno() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.msg.id.seqno
}

// Hash returns the hash (ConfigMessageHash) of the current message.
func (c *Config) Hash() [32]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.msg.hash(c.sign())
}

// Data returns a copy of the config's data, including local changes.
func (c *Config) Data() Dict {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.msg.data.Clone()
}

// Update changes the config's data: f gets a copy and its changes are kept. A change makes
// the config dirty (NeedsPush). It fails on a read-only group config.
func (c *Config) Update(f func(d Dict)) error {
	_, err := c.Change(func(d Dict) error { f(d); return nil })
	return err
}

// Change is Update that reports whether f changed anything. When f returns an error nothing
// is changed and Change returns it.
func (c *Config) Change(f func(d Dict) error) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readOnly() {
		return false, ErrNotAdmin
	}
	d := c.msg.data.Clone()
	if err := f(d); err != nil {
		return false, err
	}
	normalizeDict(d, 0)
	pruneEmpty(d)
	if equalDicts(d, c.msg.data) {
		return false, nil
	}
	c.dirty()
	c.msg.data = d
	return true, nil
}

// NeedsPush reports whether there are local changes or a merge result not yet confirmed as
// stored.
func (c *Config) NeedsPush() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state != stateClean
}

// CurrentHashes returns the swarm hash of the current message when it is known to be stored
// (empty otherwise).
func (c *Config) CurrentHashes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.currHash == "" {
		return nil
	}
	return []string{c.currHash}
}

// ConfigPush is a message to store, from PreparePush.
type ConfigPush struct {
	Seqno      int64
	Serialized []byte // the serialized message (encrypt it for storage)
	// Obsolete are the swarm hashes of messages this one supersedes: delete them once it is
	// stored.
	Obsolete []string
}

// PreparePush returns the current message to store. A dirty config then waits for
// ConfirmPushed; the obsolete hashes are handed out once (read-only configs own no messages
// and hand out none).
func (c *Config) PreparePush() (ConfigPush, error) {
	return c.preparePush(nil)
}

// preparePush is PreparePush with check run on the serialized message before anything
// changes (the encryption of a user config, which may find it too large).
func (c *Config) preparePush(check func(ConfigPush) error) (ConfigPush, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := ConfigPush{Seqno: c.msg.id.seqno, Serialized: c.msg.serialize(c.sign())}
	if !c.readOnly() {
		for h := range c.oldHashes {
			p.Obsolete = append(p.Obsolete, h)
		}
		slices.Sort(p.Obsolete)
	}
	if check != nil {
		if err := check(p); err != nil {
			return ConfigPush{}, err
		}
	}
	if c.state == stateDirty {
		c.setState(stateWaiting)
	}
	clear(c.oldHashes)
	return p, nil
}

// ConfirmPushed records that the message of seqno was stored under hash. It is ignored when
// the config changed since PreparePush (that change needs its own push).
func (c *Config) ConfirmPushed(seqno int64, hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateWaiting && seqno == c.msg.id.seqno {
		c.setState(stateClean)
		c.currHash = hash
	}
}

// ReplaceStored records that the current message (seqno) is stored under another hash: a
// copy stored again after the original expired, or a refresh whose bytes differ from the
// stored ones (another device's compression). The previous hash becomes obsolete. It is
// ignored unless the config is clean at that seqno.
func (c *Config) ReplaceStored(seqno int64, hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateClean || seqno != c.msg.id.seqno || hash == "" || hash == c.currHash {
		return
	}
	if c.currHash != "" {
		c.oldHashes[c.currHash] = struct{}{}
	}
	c.currHash = hash
}

// Push returns the serialized current message and its seqno, and considers it stored (for
// callers that do not track swarm hashes; see PreparePush and ConfirmPushed).
func (c *Config) Push() ([]byte, int64, error) {
	p, err := c.PreparePush()
	if err != nil {
		return nil, 0, err
	}
	c.ConfirmPushed(p.Seqno, "")
	return p.Serialized, p.Seqno, nil
}

// ConfigInput is one config message received from the swarm: the hash it is stored under
// and its data. For Config.MergeInputs the data is the serialized message (decrypted); for
// UserConfig.MergeStored it is what the swarm returned.
type ConfigInput struct {
	Hash string
	Data []byte
}

// InputError is an input that a merge could not use, and why (errors.Is with ErrDecrypt,
// ErrMalformed, ErrTooLarge, ErrBadSignature, ErrUnsupported, ErrForeign).
type InputError struct {
	Hash string
	Err  error
}

func (e InputError) Error() string { return fmt.Sprintf("config message %s: %v", e.Hash, e.Err) }
func (e InputError) Unwrap() error { return e.Err }

// MergeResult reports what a merge did.
type MergeResult struct {
	// Accepted are the hashes of the inputs that were understood (libsession's merge result).
	Accepted []string
	// Rejected are the inputs that could not be used; nothing held changed because of them.
	Rejected []InputError
	// Stale are accepted inputs that contributed nothing: already included in, or too far
	// behind, the messages kept.
	Stale []string
	// Changed reports that the config's seqno or data changed.
	Changed bool
}

// MergeInputs merges received (decrypted, serialized) messages into the config with
// libsession's rules: messages already included in another's lagged diffs, duplicates and
// those 5 or more seqnos behind the newest are dropped; if one message is left it is adopted;
// otherwise the result is a merge at the newest seqno + 1 that must be pushed. Unpushed local
// changes take part as a message of their own, so they survive. Read-only group configs never
// merge: they keep the highest (seqno, hash). Inputs that fail to parse (or to verify) are
// reported in Rejected and change nothing; the error is non-nil only when inputs were given
// and none was usable (it is then the first rejection's).
func (c *Config) MergeInputs(in []ConfigInput) (MergeResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var res MergeResult
	if len(in) == 0 {
		return res, nil
	}
	oldSeq := c.msg.id.seqno
	before := c.msg.hash(c.sign())
	hashes := make([]string, 0, len(in)+1)
	confs := make([]*message, 0, len(in)+1)
	mine := oldSeq != 0 || c.state == stateDirty
	if mine {
		m, err := parseMessage(c.msg.serialize(c.sign()), c.verify, false)
		switch {
		case err == nil:
			hashes = append(hashes, c.currHash)
			confs = append(confs, m)
		case c.readOnly():
			// A member restored an unsigned message from a dump: it cannot take part, so
			// whatever valid message arrives replaces it.
			mine = false
		default:
			return res, fmt.Errorf("groups: the current config does not parse: %w", err)
		}
	}
	first := len(confs)
	for _, x := range in {
		m, err := parseMessage(x.Data, c.verify, false)
		if err != nil {
			res.Rejected = append(res.Rejected, InputError{Hash: x.Hash, Err: err})
		}
		hashes = append(hashes, x.Hash)
		confs = append(confs, m)
	}
	for i := first; i < len(confs); i++ {
		if confs[i] != nil {
			res.Accepted = append(res.Accepted, hashes[i])
		}
	}
	if len(res.Accepted) == 0 {
		return res, res.Rejected[0].Err // nothing usable: nothing changes
	}
	result, chosen, redundant, err := combine(confs, c.readOnly())
	if err != nil {
		return res, err // unreachable: at least one input parsed
	}
	fromDirty := c.state == stateDirty
	if fromDirty && !result.merged {
		result = result.increment(c.sign())
	}
	for i, h := range hashes {
		if i != chosen && confs[i] != nil && h != "" {
			c.oldHashes[h] = struct{}{}
		}
		if i >= first && confs[i] != nil && i != chosen && (chosen >= 0 || redundant[i]) {
			res.Stale = append(res.Stale, h)
		}
	}
	if result.id.seqno != oldSeq {
		switch {
		case fromDirty && chosen == 0 && result.id.seqno == oldSeq+1:
			// Our own unpushed changes include everything: keep them as they are.
		case result.merged, fromDirty:
			// A merge, or another's message taken over our unpushed changes at the next
			// seqno (incremented above): a message nobody stored, to push. Marked clean
			// under the other's hash, it was never pushed, and a linked device that had
			// stored that hash stayed a seqno behind for good.
			c.msg = result
			c.setState(stateDirty)
		default:
			c.msg = result
			c.setState(stateClean)
			c.currHash = hashes[chosen]
		}
	}
	res.Changed = c.msg.id.seqno != oldSeq || c.msg.hash(c.sign()) != before
	return res, nil
}

// Merge merges received serialized config messages (already decrypted) into the config and
// returns how many of them were valid; see MergeInputs. It returns an error when none was.
func (c *Config) Merge(messages ...[]byte) (int, error) {
	in := make([]ConfigInput, len(messages))
	for i, m := range messages {
		in[i] = ConfigInput{Data: m}
	}
	res, err := c.MergeInputs(in)
	return len(res.Accepted), err
}
