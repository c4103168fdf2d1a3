package groups

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/internal/bencode"
)

// KeyExpiry is how long a key stays usable after a newer generation appeared, measured between
// key timestamps (not against the local clock).
const KeyExpiry = 60 * 24 * time.Hour

// keyListPad: the member list of a rekey message is padded with junk entries to a multiple of
// this, and readers reject other counts.
const keyListPad = 75

const (
	encKeyEntrySize = 32 + MultiOverhead // an encrypted 32-byte key
	memberKeyDomain = "SessionGroupKeyMemberKey"
)

// KeyInfo is one group encryption key.
type KeyInfo struct {
	Generation int64
	Key        [32]byte
	// Timestamp is the swarm storage time of the key message that carried the key.
	Timestamp time.Time
}

// Keys is a member's (or an admin's) view of a group's encryption keys, built by loading the
// group's key messages (namespace 12), and, for admins, the builder of new key messages. It is
// safe for concurrent use.
type Keys struct {
	mu       sync.Mutex
	me       *crypto.Keys
	groupPK  [32]byte
	groupXPK [32]byte
	admin    *AdminKey
	keys     []KeyInfo // sorted by (generation, timestamp, key)
	pending  *pendingKey
	active   map[int64][]string // generation -> key message hashes seen
	rekey    bool               // two different keys in the newest generation
}

type pendingKey struct {
	gen int64
	key [32]byte
	msg []byte
}

// NewKeys returns an empty key state for the group with Ed25519 key groupPK, as seen by the
// member holding me. admin is the group's secret key for admins, nil otherwise.
func NewKeys(me *crypto.Keys, groupPK [32]byte, admin *AdminKey) (*Keys, error) {
	if me == nil {
		return nil, fmt.Errorf("%w: nil member keys", ErrInvalidInput)
	}
	xpk, err := crypto.Ed25519PublicToX25519(groupPK)
	if err != nil {
		return nil, fmt.Errorf("%w: group key: %w", ErrInvalidInput, err)
	}
	if admin != nil && admin.PublicKey() != groupPK {
		return nil, fmt.Errorf("%w: admin key is not the group's key", ErrInvalidInput)
	}
	return &Keys{me: me, groupPK: groupPK, groupXPK: xpk, admin: admin, active: map[int64][]string{}}, nil
}

// LoadAdminKey makes this member an admin (after a promotion): admin must be the group's key.
func (k *Keys) LoadAdminKey(admin *AdminKey) error {
	if admin == nil || admin.PublicKey() != k.groupPK {
		return fmt.Errorf("%w: not the group's key", ErrInvalidInput)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.admin = admin
	return nil
}

// IsAdmin reports whether the group's secret key is loaded.
func (k *Keys) IsAdmin() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.admin != nil
}

// GroupKeys returns the keys to try when decrypting, in libsession's order: the pending key
// (an admin's unconfirmed rekey) first, then the newest to the oldest.
func (k *Keys) GroupKeys() [][32]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([][32]byte, 0, len(k.keys)+1)
	if k.pending != nil {
		out = append(out, k.pending.key)
	}
	for i := len(k.keys) - 1; i >= 0; i-- {
		out = append(out, k.keys[i].Key)
	}
	return out
}

// Keys returns the confirmed keys, oldest first.
func (k *Keys) Keys() []KeyInfo {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.keys)
}

// EncryptionKey returns the key to encrypt with: the pending key, else the newest one.
func (k *Keys) EncryptionKey() ([32]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pending != nil {
		return k.pending.key, nil
	}
	if len(k.keys) == 0 {
		return [32]byte{}, ErrNoKeys
	}
	return k.keys[len(k.keys)-1].Key, nil
}

// CurrentGeneration returns the newest generation known (pending included), or -1 if none.
func (k *Keys) CurrentGeneration() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.currentGen()
}

func (k *Keys) currentGen() int64 {
	g := int64(-1)
	if len(k.keys) > 0 {
		g = k.keys[len(k.keys)-1].Generation
	}
	if k.pending != nil && k.pending.gen > g {
		g = k.pending.gen
	}
	return g
}

// NeedsRekey reports whether two different keys exist for the newest generation (two admins
// rekeyed at once): an admin should rekey again.
func (k *Keys) NeedsRekey() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rekey
}

// PendingMessage returns the admin's unconfirmed key message (to push), if any.
func (k *Keys) PendingMessage() ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pending == nil {
		return nil, false
	}
	return slices.Clone(k.pending.msg), true
}

// ActiveHashes returns the hashes of the key messages seen for every generation still held.
func (k *Keys) ActiveHashes() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for _, h := range k.active {
		out = append(out, h...)
	}
	slices.Sort(out)
	return out
}

// EncryptMessage encrypts a group message with the current key (see EncryptMessage).
func (k *Keys) EncryptMessage(plaintext []byte) ([]byte, error) {
	key, err := k.EncryptionKey()
	if err != nil {
		return nil, err
	}
	return EncryptMessage(k.me, key, plaintext)
}

// DecryptMessage decrypts a group message with every key held (see DecryptMessage).
func (k *Keys) DecryptMessage(ciphertext []byte) (*Message, error) {
	keys := k.GroupKeys()
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	return DecryptMessage(keys, ciphertext)
}

// ---- building key messages (admins) ----

func sortedMemberIDs(members []crypto.AccountID) ([]crypto.AccountID, error) {
	out := slices.Clone(members)
	for _, m := range out {
		if m.Prefix() != crypto.PrefixStandard {
			return nil, fmt.Errorf("%w: member %s is not a 05 ID", ErrInvalidInput, m)
		}
	}
	slices.SortFunc(out, func(a, b crypto.AccountID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(out), nil
}

// buildRekey makes a full key message for generation gen, encrypting the new key for members
// (every member, admins included, sorted). It returns the message and the new key.
func buildRekey(admin *AdminKey, members []crypto.AccountID, gen int64) ([]byte, [32]byte, error) {
	ids, err := sortedMemberIDs(members)
	if err != nil {
		return nil, [32]byte{}, err
	}
	h2 := crypto.Blake2b256([]byte("SessionGroupKeySeed"), admin.seed[:])
	parts := make([][]byte, 0, len(ids)+2)
	for _, id := range ids {
		parts = append(parts, []byte(id.String()))
	}
	parts = append(parts, []byte(strconv.FormatInt(gen, 10)), h2[:])
	h1, err := crypto.Blake2b(56, []byte("SessionGroupKeyGen"), parts...)
	if err != nil {
		return nil, [32]byte{}, err
	}
	encKey := [32]byte(h1[:32])
	nonce := [24]byte(h1[32:56])
	adminKey := crypto.Blake2b256([]byte("SessionGroupKeyAdminKey"), admin.seed[:])
	bigK := xchachaSeal(&adminKey, nonce[:], encKey[:])

	recips := make([][32]byte, len(ids))
	for i, id := range ids {
		recips[i] = id.Key()
	}
	entries, err := MultiEncrypt([][]byte{encKey[:]}, recips, nonce, admin.xsk, admin.xpk, memberKeyDomain)
	if err != nil {
		return nil, [32]byte{}, err
	}
	if rem := len(entries) % keyListPad; rem != 0 {
		n := keyListPad - rem
		seedIn := make([]byte, 0, 56+64)
		seedIn = append(append(seedIn, h1...), admin.priv...)
		rngSeed := crypto.Blake2b256([]byte("SessionGroupJunkMembers"), seedIn)
		junk := make([]byte, n*encKeyEntrySize)
		// libsodium randombytes_buf_deterministic: ChaCha20-IETF keystream, nonce "LibsodiumDRG".
		c, err := chacha20.NewUnauthenticatedCipher(rngSeed[:], []byte("LibsodiumDRG"))
		if err != nil {
			return nil, [32]byte{}, err
		}
		c.XORKeyStream(junk, junk)
		for i := 0; i < n; i++ {
			entries = append(entries, junk[i*encKeyEntrySize:(i+1)*encKeyEntrySize])
		}
	}
	msg := []byte("d1:#")
	msg = bencode.AppendBytes(msg, nonce[:])
	msg = append(msg, "1:G"...)
	msg = bencode.AppendInt(msg, gen)
	msg = append(msg, "1:K"...)
	msg = bencode.AppendBytes(msg, bigK)
	msg = append(msg, "1:kl"...)
	for _, e := range entries {
		msg = bencode.AppendBytes(msg, e)
	}
	msg = append(msg, 'e')
	return signKeyMessage(admin, msg), encKey, nil
}

func signKeyMessage(admin *AdminKey, unsigned []byte) []byte {
	sig := admin.Sign(unsigned)
	out := append(unsigned, "1:~"...)
	out = bencode.AppendBytes(out, sig[:])
	return append(out, 'e')
}

// Rekey makes a new key (generation = newest known + 1, or 0) for members, which must list
// every member of the group, admins included, and nobody who was removed (erase kicked members
// from Members before rekeying). It returns the key message to store in namespace 12. The new
// key becomes the pending key: use it at once; it is confirmed when the message is loaded back
// from the swarm. The build is deterministic.
func (k *Keys) Rekey(members []crypto.AccountID) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.admin == nil {
		return nil, ErrNotAdmin
	}
	gen := k.currentGen() + 1
	msg, key, err := buildRekey(k.admin, members, gen)
	if err != nil {
		return nil, err
	}
	k.pending = &pendingKey{gen: gen, key: key, msg: msg}
	return slices.Clone(msg), nil
}

// KeySupplement makes a supplemental key message that gives newMembers every confirmed key
// (so they can read history) without a rekey. timestamps of the keys are their key messages'
// storage times. The pending key, if any, is not included (as in libsession).
func (k *Keys) KeySupplement(newMembers []crypto.AccountID) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.admin == nil {
		return nil, ErrNotAdmin
	}
	if len(k.keys) == 0 {
		return nil, ErrNoKeys
	}
	if len(newMembers) == 0 {
		return nil, fmt.Errorf("%w: no members to supplement", ErrInvalidInput)
	}
	for _, m := range newMembers {
		if m.Prefix() != crypto.PrefixStandard {
			return nil, fmt.Errorf("%w: member %s is not a 05 ID", ErrInvalidInput, m)
		}
	}
	supp := []byte{'l'}
	for _, ki := range k.keys {
		supp = append(supp, "d1:g"...)
		supp = bencode.AppendInt(supp, ki.Generation)
		supp = append(supp, "1:k"...)
		supp = bencode.AppendBytes(supp, ki.Key[:])
		supp = append(supp, "1:t"...)
		supp = bencode.AppendInt(supp, ki.Timestamp.UnixMilli())
		supp = append(supp, 'e')
	}
	supp = append(supp, 'e')
	h2 := crypto.Blake2b256([]byte("SessionGroupKeySeed"), k.admin.seed[:])
	parts := make([][]byte, 0, len(newMembers)+2)
	recips := make([][32]byte, len(newMembers))
	for i, m := range newMembers { // caller's order
		parts = append(parts, []byte(m.String()))
		recips[i] = m.Key()
	}
	parts = append(parts, supp, h2[:])
	n, err := crypto.Blake2b(24, []byte("SessionGroupKeyGen"), parts...)
	if err != nil {
		return nil, err
	}
	nonce := [24]byte(n)
	entries, err := MultiEncrypt([][]byte{supp}, recips, nonce, k.admin.xsk, k.admin.xpk, memberKeyDomain)
	if err != nil {
		return nil, err
	}
	msg := []byte("d1:#")
	msg = bencode.AppendBytes(msg, nonce[:])
	msg = append(msg, "1:+l"...)
	for _, e := range entries {
		msg = bencode.AppendBytes(msg, e)
	}
	msg = append(msg, "e1:G"...)
	msg = bencode.AppendInt(msg, k.keys[len(k.keys)-1].Generation)
	return signKeyMessage(k.admin, msg), nil
}

// ---- reading key messages ----

// LoadKeyMessage loads a key message retrieved from namespace 12, with its storage hash and
// storage timestamp (ms). It reports whether it gave us a key we did not have. A valid message
// with no key for us is not an error (we were probably removed); a malformed or badly signed
// message is rejected whole with an error and changes nothing.
func (k *Keys) LoadKeyMessage(hash string, data []byte, timestampMS int64) (bool, error) {
	m, err := parseKeyMessage(data, &k.groupPK)
	if err != nil {
		return false, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	found, err := k.openKeyMessage(m, time.UnixMilli(timestampMS))
	if err != nil {
		return false, err
	}
	return k.applyKeyMessage(hash, m.gen, found), nil
}

// keyMessage is a parsed key message whose signature by the group was checked: either a rekey
// (adminKey and one entry per member, each an encrypted 32-byte key) or a supplement (entries
// that each encrypt a list of keys for new members).
type keyMessage struct {
	nonce      [24]byte
	gen        int64
	supplement bool
	adminKey   []byte   // "K": the key encrypted for admins (rekeys only)
	entries    [][]byte // "k" (rekey) or "+" (supplement)
}

// parseKeyMessage checks a key message's shape and its signature by the group's key groupPK.
// It reads no key state.
func parseKeyMessage(data []byte, groupPK *[32]byte) (*keyMessage, error) {
	const what = "key message"
	v, err := bencode.Options{MaxDepth: 2}.Decode(data)
	if err != nil {
		return nil, malformed(what, "", "not bencoded", err)
	}
	if v.Kind != bencode.KindDict {
		return nil, malformed(what, "", "not a dict", nil)
	}
	sigE, sigIdx, ok := v.Lookup("~")
	if !ok || sigIdx != len(v.Dict)-1 || sigE.Value.Kind != bencode.KindString || len(sigE.Value.Str) != 64 {
		return nil, malformed(what, "~", "missing, not last, or not a 64-byte signature", nil)
	}
	nv, ok := v.Get("#")
	if !ok || nv.Kind != bencode.KindString || len(nv.Str) != 24 {
		return nil, malformed(what, "#", "missing or not a 24-byte nonce", nil)
	}
	m := &keyMessage{nonce: [24]byte(nv.Str)}
	gv, ok := v.Get("G")
	if m.gen, err = gv.Int64(); !ok || err != nil || m.gen < 0 {
		return nil, malformed(what, "G", "missing or not a generation", err)
	}
	var list []bencode.Value
	if supp, isSupp := v.Get("+"); isSupp {
		if supp.Kind != bencode.KindList {
			return nil, malformed(what, "+", "not a list", nil)
		}
		for _, e := range supp.List {
			if e.Kind != bencode.KindString || len(e.Str) < 68 {
				return nil, malformed(what, "+", "entry shorter than 68 bytes", nil)
			}
		}
		m.supplement, list = true, supp.List
	} else {
		kv, ok := v.Get("K")
		if !ok || kv.Kind != bencode.KindString || len(kv.Str) != encKeyEntrySize {
			return nil, malformed(what, "K", "missing or not 48 bytes", nil)
		}
		m.adminKey = kv.Str
		lv, ok := v.Get("k")
		if !ok || lv.Kind != bencode.KindList {
			return nil, malformed(what, "k", "missing or not a list", nil)
		}
		if len(lv.List)%keyListPad != 0 {
			return nil, malformed(what, "k", fmt.Sprintf("%d entries, not a multiple of %d", len(lv.List), keyListPad), nil)
		}
		for _, e := range lv.List {
			if e.Kind != bencode.KindString || len(e.Str) != encKeyEntrySize {
				return nil, malformed(what, "k", "entry is not 48 bytes", nil)
			}
		}
		list = lv.List
	}
	if !ed25519.Verify(groupPK[:], v.Raw[:sigE.Offset], sigE.Value.Str) {
		return nil, fmt.Errorf("%w: key message not signed by the group", ErrBadSignature)
	}
	m.entries = make([][]byte, len(list))
	for i, e := range list {
		m.entries[i] = e.Str
	}
	return m, nil
}

// openKeyMessage returns the keys of m that we can open, stamped ts: as an admin the rekey's
// admin copy, else the entry encrypted for us. Every entry is tried, even after a hit. k.mu is
// held; nothing is changed.
func (k *Keys) openKeyMessage(m *keyMessage, ts time.Time) ([]KeyInfo, error) {
	if !m.supplement && k.admin != nil {
		adminKey := crypto.Blake2b256([]byte("SessionGroupKeyAdminKey"), k.admin.seed[:])
		if key, ok := xchachaOpen(&adminKey, m.nonce[:], m.adminKey); ok && len(key) == 32 {
			return []KeyInfo{{Generation: m.gen, Key: [32]byte(key), Timestamp: ts}}, nil
		}
	}
	myX := k.me.X25519PrivateKey()
	myXPK := k.me.X25519PublicKey()
	dh, ok := crypto.X25519(&myX, &k.groupXPK)
	if !ok {
		return nil, nil
	}
	mk := multiKey(dh[:], &k.groupXPK, &myXPK, memberKeyDomain)
	var hit []byte
	for _, e := range m.entries { // try every entry, even after a hit
		if pt, ok := xchachaOpen(&mk, m.nonce[:], e); ok && hit == nil {
			hit = pt
		}
	}
	switch {
	case hit == nil:
		return nil, nil
	case m.supplement:
		return parseSupplement(hit)
	case len(hit) == 32:
		return []KeyInfo{{Generation: m.gen, Key: [32]byte(hit), Timestamp: ts}}, nil
	default:
		return nil, malformed("key message", "k", "decrypted key is not 32 bytes", nil)
	}
}

// applyKeyMessage records the message hash as one of generation gen's and adds the keys found,
// reporting whether any was new. k.mu is held.
func (k *Keys) applyKeyMessage(hash string, gen int64, found []KeyInfo) bool {
	k.active[gen] = appendUnique(k.active[gen], hash)
	added := false
	for _, f := range found {
		if k.insertKey(f) {
			added = true
		}
		if k.pending != nil && k.pending.gen == f.Generation && k.pending.key == f.Key {
			k.pending = nil
		}
	}
	k.expireKeys()
	k.updateNeedsRekey()
	return added
}

func appendUnique(s []string, h string) []string {
	if slices.Contains(s, h) {
		return s
	}
	return append(s, h)
}

func parseSupplement(pt []byte) ([]KeyInfo, error) {
	const what = "supplemental keys"
	v, err := bencode.Options{MaxDepth: 2}.Decode(pt)
	if err != nil || v.Kind != bencode.KindList {
		return nil, malformed(what, "", "not a bencoded list", err)
	}
	var out []KeyInfo
	for _, e := range v.List {
		gv, ok1 := e.Get("g")
		kv, ok2 := e.Get("k")
		tv, ok3 := e.Get("t")
		gen, err1 := gv.Int64()
		t, err2 := tv.Int64()
		if !ok1 || !ok2 || !ok3 || err1 != nil || err2 != nil || gen < 0 || kv.Kind != bencode.KindString || len(kv.Str) != 32 {
			return nil, malformed(what, "", "entry is not {g, k(32), t}", nil)
		}
		out = append(out, KeyInfo{Generation: gen, Key: [32]byte(kv.Str), Timestamp: time.UnixMilli(t)})
	}
	return out, nil
}

func compareKeyInfo(a, b KeyInfo) int {
	if c := cmp.Compare(a.Generation, b.Generation); c != 0 {
		return c
	}
	if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
		return c
	}
	return bytes.Compare(a.Key[:], b.Key[:])
}

// insertKey adds a key unless the same key of the same generation is held already.
func (k *Keys) insertKey(ki KeyInfo) bool {
	for _, x := range k.keys {
		if x.Generation == ki.Generation && x.Key == ki.Key {
			return false
		}
	}
	k.keys = append(k.keys, ki)
	slices.SortFunc(k.keys, compareKeyInfo)
	return true
}

// expireKeys drops the keys of generations superseded more than KeyExpiry before the newest key.
func (k *Keys) expireKeys() {
	if len(k.keys) == 0 {
		return
	}
	newest := k.keys[len(k.keys)-1].Timestamp
	for _, x := range k.keys {
		if x.Timestamp.After(newest) {
			newest = x.Timestamp
		}
	}
	cut := 0
	for i := 0; i < len(k.keys); {
		j := i + 1
		for j < len(k.keys) && k.keys[j].Generation == k.keys[i].Generation {
			j++
		}
		if j == len(k.keys) || k.keys[j].Timestamp.Add(KeyExpiry).After(newest) {
			break
		}
		cut = j
		i = j
	}
	if cut > 0 {
		for _, x := range k.keys[:cut] {
			delete(k.active, x.Generation)
		}
		k.keys = slices.Delete(k.keys, 0, cut)
	}
}

func (k *Keys) updateNeedsRekey() {
	k.rekey = false
	if n := len(k.keys); n >= 2 {
		top := k.keys[n-1]
		for _, x := range k.keys[:n-1] {
			if x.Generation == top.Generation && x.Key != top.Key {
				k.rekey = true
			}
		}
	}
}

// BuildRekeyMessage builds the full key message for generation gen without any state (see
// Keys.Rekey, which picks the generation and tracks the pending key). It returns the message
// and the new key.
func BuildRekeyMessage(admin *AdminKey, members []crypto.AccountID, gen int64) ([]byte, [32]byte, error) {
	if admin == nil {
		return nil, [32]byte{}, ErrNotAdmin
	}
	if gen < 0 {
		return nil, [32]byte{}, fmt.Errorf("%w: negative generation", ErrInvalidInput)
	}
	return buildRekey(admin, members, gen)
}
