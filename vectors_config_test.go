package sdk_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
)

// The user config ops of libsession_config.json: pushes of rich state, merges of conflicting
// pushes from two devices, and merges of stale or bad input, all through the public API
// (groups.UserConfig and the typed models). libsession-util produced the vectors; where we
// disagree, it is right.

// cvNow is the clock the ConvoInfoVolatile cases run at: a few days after the read positions
// they hold (libsession ignores read positions older than 30 days and prunes entries older
// than 45 days, relative to its clock at generation time).
func cvNow(c vcase) time.Time {
	base := int64(1796000000000)
	if c.has("inputs") {
		var in struct {
			Base int64 `json:"convo_last_read_base_ms"`
		}
		c.decode(&in, "inputs")
		if in.Base > 0 {
			base = in.Base
		}
	}
	return time.UnixMilli(base).Add(4 * 24 * time.Hour)
}

// cvPushChains keeps each push op's config between its cases: a case with seqno n > 1 is
// the next push after case n-1 of the same op, domain and account.
var cvPushChains = map[string]*groups.UserConfig{}

func init() {
	for _, op := range []string{"config_user_profile_push", "config_contacts_push", "config_convo_info_volatile_push", "config_user_groups_push"} {
		op := op
		registerVectors(op, func(t *testing.T, c vcase) { cvPush(t, c, op) })
	}
	registerVectors("config_user_merge", cvMerge)
	registerVectors("config_user_merge_reject", cvReject)
}

func cvPush(t *testing.T, c vcase, op string) {
	keys := gvKeys(t, c.hex("seed"))
	if c.has("session_id") && keys.AccountID().String() != c.str("session_id") {
		t.Fatalf("session ID %s", keys.AccountID())
	}
	domain := c.str("domain")
	now := cvNow(c)
	var layers struct {
		Encrypted  string `json:"encrypted"`
		PaddedLen  int    `json:"padded_len"`
		Compressed bool   `json:"compressed"`
		Serialized string `json:"serialized"`
		Seqno      int64  `json:"serialized_seqno"`
		Hash       string `json:"message_hash"`
	}
	c.decode(&layers, "layers")
	ser := gvHex(t, layers.Serialized)
	seqno := c.int("seqno")
	chain := op + "|" + domain + "|" + keys.AccountID().String()

	// The state before: a fresh config, or the previous case's.
	var cfg *groups.UserConfig
	if seqno == 1 {
		var err error
		if cfg, err = groups.OpenUserConfig(keys, domain, nil); err != nil {
			t.Fatal(err)
		}
	} else {
		cfg = cvPushChains[chain]
		m, err := groups.ParseConfigMessage(ser, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg == nil || cfg.Seqno() != seqno-1 || len(m.Lagged) == 0 || m.Lagged[len(m.Lagged)-1].Hash != cfg.Hash() {
			t.Fatalf("seqno %d needs the state of the previous case of %s", seqno, op)
		}
	}
	delete(cvPushChains, chain)

	// Make the state through the typed models and push it.
	var want json.RawMessage
	c.decode(&want, "expect")
	cvApply(t, cfg, domain, want, now)
	if cfg.NeedsPush() != c.boolean("needs_push_before") {
		t.Fatalf("needs push %v", cfg.NeedsPush())
	}
	p, err := cfg.PrepareStore(now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Seqno != seqno || layers.Seqno != seqno {
		t.Fatalf("seqno %d, want %d", p.Seqno, seqno)
	}
	cvSameSet(t, "obsolete hashes", p.Obsolete, cvStrings(c, "obsolete_hashes"))
	mine, err := groups.ReadUserConfig(keys, domain, p.Data)
	if err != nil {
		t.Fatal(err)
	}
	gvEqual(t, "serialized", mine, ser)
	h := groups.ConfigMessageHash(ser)
	gvEqual(t, "message hash", h[:], gvHex(t, layers.Hash))

	// The layers of libsession's push: encryption (exact when not compressed: zstd's bytes
	// are libzstd's own), padding, and the protobuf wrapping (exact).
	enc := gvHex(t, layers.Encrypted)
	if len(enc)-groups.ConfigOverhead != layers.PaddedLen {
		t.Fatalf("padded length %d", len(enc)-groups.ConfigOverhead)
	}
	if back, err := groups.DecodeConfigPayload(enc, keys.Seed(), domain); err != nil || !bytes.Equal(back, ser) {
		t.Fatalf("libsession's payload: %v", err)
	}
	if !layers.Compressed {
		ours, err := groups.EncodeConfigPayload(ser, keys.Seed(), domain, false)
		if err != nil {
			t.Fatal(err)
		}
		gvEqual(t, "encrypted", ours, enc)
	}
	wrapped, err := groups.WrapUserConfig(keys, domain, seqno, enc)
	if err != nil {
		t.Fatal(err)
	}
	pushed := c.hex("pushed")
	gvEqual(t, "wrapped push", wrapped, pushed)
	if int64(len(pushed)) != c.int("pushed_len") {
		t.Fatalf("pushed length %d", len(pushed))
	}
	if !layers.Compressed && !bytes.Equal(p.Data, pushed) {
		t.Logf("note: our push compressed where libzstd did not gain (%d vs %d bytes)", len(p.Data), len(pushed))
	}

	// Confirmation, the dump, and a fresh device reading the push.
	cfg.ConfirmPushed(p.Seqno, c.str("confirmed_hash"))
	cvSameSet(t, "current hashes", cfg.CurrentHashes(), cvStrings(c, "current_hashes_after_confirm"))
	if cfg.NeedsPush() {
		t.Fatal("needs push after confirmation")
	}
	gvEqual(t, "dump", cfg.Dump(), c.hex("dump"))
	restored, err := groups.OpenUserConfig(keys, domain, c.hex("dump"))
	if err != nil {
		t.Fatal(err)
	}
	cvCheckState(t, "restored from libsession's dump", restored, domain, want)
	fresh, err := groups.OpenUserConfig(keys, domain, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fresh.MergeStored([]groups.ConfigInput{{Hash: c.str("confirmed_hash"), Data: pushed}})
	if err != nil {
		t.Fatal(err)
	}
	cvSameSet(t, "fresh accepted", res.Accepted, cvStrings(c, "fresh_merge_accepted"))
	if fresh.NeedsPush() != c.boolean("fresh_needs_push") || fresh.Seqno() != seqno {
		t.Fatalf("fresh: needs push %v, seqno %d", fresh.NeedsPush(), fresh.Seqno())
	}
	cvCheckState(t, "fresh device", fresh, domain, want)
	cvCheckState(t, "pushing device", cfg, domain, want)
	cvPushChains[chain] = cfg
}

// cvDevice is one side of a config_user_merge case.
type cvDevice struct {
	Hash          string          `json:"hash"`
	Seqno         int64           `json:"seqno"`
	Obsolete      []string        `json:"obsolete_hashes"`
	Pushed        string          `json:"pushed"`
	Serialized    string          `json:"serialized"`
	MessageHash   string          `json:"message_hash"`
	State         json.RawMessage `json:"state"`
	MergeInput    string          `json:"merge_input_hash"`
	Accepted      []string        `json:"accepted"`
	NeedsPush     bool            `json:"needs_push"`
	CurrentHashes []string        `json:"current_hashes"`
	ConfirmedHash string          `json:"confirmed_hash"`
	Inputs        []string        `json:"inputs"`
	InputHash     string          `json:"input_hash"`
	StateEqMerged bool            `json:"state_equal_to_merged"`
}

func cvMerge(t *testing.T, c vcase) {
	keys := gvKeys(t, c.hex("seed"))
	domain := c.str("domain")
	now := cvNow(c)
	var base, devA, devB, aMB, bMA, freshAll, aRecv cvDevice
	c.decode(&base, "base")
	c.decode(&devA, "device_a")
	c.decode(&devB, "device_b")
	c.decode(&aMB, "a_merges_b")
	c.decode(&bMA, "b_merges_a")
	c.decode(&freshAll, "fresh_merges_all")
	c.decode(&aRecv, "a_receives_b_merged")
	pushedBy := map[string][]byte{base.Hash: gvHex(t, base.Pushed), devA.Hash: gvHex(t, devA.Pushed), devB.Hash: gvHex(t, devB.Pushed)}

	open := func() *groups.UserConfig {
		t.Helper()
		u, err := groups.OpenUserConfig(keys, domain, nil)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	// Both devices start from the pushed base.
	a, b := open(), open()
	for _, u := range []*groups.UserConfig{a, b} {
		if _, err := u.MergeStored([]groups.ConfigInput{{Hash: base.Hash, Data: pushedBy[base.Hash]}}); err != nil {
			t.Fatal(err)
		}
		if u.Seqno() != base.Seqno || u.NeedsPush() {
			t.Fatalf("base: seqno %d", u.Seqno())
		}
		cvCheckState(t, "base", u, domain, base.State)
	}
	// Each changes it and pushes.
	push := func(name string, u *groups.UserConfig, d cvDevice) []byte {
		t.Helper()
		p, err := u.PrepareStore(now)
		if err != nil {
			t.Fatal(err)
		}
		if p.Seqno != d.Seqno {
			t.Fatalf("%s: seqno %d, want %d", name, p.Seqno, d.Seqno)
		}
		cvSameSet(t, name+" obsolete", p.Obsolete, d.Obsolete)
		ser, err := groups.ReadUserConfig(keys, domain, p.Data)
		if err != nil {
			t.Fatal(err)
		}
		gvEqual(t, name+" serialized", ser, gvHex(t, d.Serialized))
		theirs, err := groups.ReadUserConfig(keys, domain, gvHex(t, d.Pushed))
		if err != nil || !bytes.Equal(theirs, ser) {
			t.Fatalf("%s: libsession's push reads back differently: %v", name, err)
		}
		h := groups.ConfigMessageHash(ser)
		gvEqual(t, name+" message hash", h[:], gvHex(t, d.MessageHash))
		return p.Data
	}
	cvApply(t, a, domain, devA.State, now)
	push("device A", a, devA)
	a.ConfirmPushed(devA.Seqno, devA.Hash)
	cvApply(t, b, domain, devB.State, now)
	push("device B", b, devB)
	b.ConfirmPushed(devB.Seqno, devB.Hash)

	// Each merges the other's push.
	var merged [2][]byte
	for i, m := range []struct {
		name string
		u    *groups.UserConfig
		want cvDevice
	}{{"A merges B", a, aMB}, {"B merges A", b, bMA}} {
		res, err := m.u.MergeStored([]groups.ConfigInput{{Hash: m.want.MergeInput, Data: pushedBy[m.want.MergeInput]}})
		if err != nil {
			t.Fatal(err)
		}
		cvSameSet(t, m.name+" accepted", res.Accepted, m.want.Accepted)
		if m.u.NeedsPush() != m.want.NeedsPush || !res.Changed {
			t.Fatalf("%s: needs push %v changed %v", m.name, m.u.NeedsPush(), res.Changed)
		}
		cvSameSet(t, m.name+" current hashes", m.u.CurrentHashes(), m.want.CurrentHashes)
		cvCheckState(t, m.name, m.u, domain, m.want.State)
		merged[i] = push(m.name, m.u, m.want)
		m.u.ConfirmPushed(m.want.Seqno, m.want.ConfirmedHash)
	}
	if c.boolean("merged_identical") && !bytes.Equal(merged[0], merged[1]) {
		t.Fatal("the two merges differ")
	}

	// A new device merging everything at once.
	f := open()
	var in []groups.ConfigInput
	for _, h := range freshAll.Inputs {
		in = append(in, groups.ConfigInput{Hash: h, Data: pushedBy[h]})
	}
	res, err := f.MergeStored(in)
	if err != nil {
		t.Fatal(err)
	}
	cvSameSet(t, "fresh accepted", res.Accepted, freshAll.Accepted)
	if f.NeedsPush() != freshAll.NeedsPush || f.Seqno() != freshAll.Seqno {
		t.Fatalf("fresh: needs push %v seqno %d", f.NeedsPush(), f.Seqno())
	}
	cvCheckState(t, "fresh merge", f, domain, freshAll.State)
	fp, err := f.PreparePush()
	if err != nil {
		t.Fatal(err)
	}
	cvSameSet(t, "fresh obsolete", fp.Obsolete, freshAll.Obsolete)
	gvEqual(t, "fresh merge serialized", fp.Serialized, gvHex(t, freshAll.Serialized))

	// A receives B's merge: the same message as its own.
	res, err = a.MergeStored([]groups.ConfigInput{{Hash: aRecv.InputHash, Data: gvHex(t, bMA.Pushed)}})
	if err != nil {
		t.Fatal(err)
	}
	cvSameSet(t, "A receives B's merge: accepted", res.Accepted, aRecv.Accepted)
	if a.NeedsPush() != aRecv.NeedsPush || a.Seqno() != aRecv.Seqno || res.Changed {
		t.Fatalf("A receives B's merge: needs push %v seqno %d changed %v", a.NeedsPush(), a.Seqno(), res.Changed)
	}
	cvSameSet(t, "A receives B's merge: current", a.CurrentHashes(), aRecv.CurrentHashes)
	if aRecv.StateEqMerged {
		cvCheckState(t, "A after B's merge", a, domain, aMB.State)
	}
	ap, err := a.PreparePush()
	if err != nil {
		t.Fatal(err)
	}
	cvSameSet(t, "A receives B's merge: obsolete", ap.Obsolete, aRecv.Obsolete)
}

func cvReject(t *testing.T, c vcase) {
	keys := gvKeys(t, c.hex("seed"))
	domain := c.str("domain")
	held, err := groups.OpenUserConfig(keys, domain, c.hex("held_dump"))
	if err != nil {
		t.Fatal(err)
	}
	heldSer := c.hex("held_serialized")
	if held.Seqno() != c.int("held_seqno") || held.Hash() != groups.ConfigMessageHash(heldSer) {
		t.Fatalf("held: seqno %d", held.Seqno())
	}
	var heldState, after json.RawMessage
	c.decode(&heldState, "held_state")
	c.decode(&after, "state_after")
	cvCheckState(t, "held", held, domain, heldState)
	before := held.Dump()

	in := c.hex("input")
	if c.has("input_serialized") {
		ser, err := groups.ReadUserConfig(keys, domain, in)
		if err != nil {
			t.Fatal(err)
		}
		gvEqual(t, "input serialized", ser, c.hex("input_serialized"))
		if c.has("input_message_hash") {
			h := groups.ConfigMessageHash(ser)
			gvEqual(t, "input hash", h[:], c.hex("input_message_hash"))
		}
	}
	res, err := held.MergeStored([]groups.ConfigInput{{Hash: c.str("input_hash"), Data: in}})
	accepted := cvStrings(c, "accepted")
	cvSameSet(t, "accepted", res.Accepted, accepted)
	if len(accepted) == 0 {
		// Rejected: a typed error, and nothing held changed.
		if err == nil || len(res.Rejected) != 1 {
			t.Fatalf("bad input: err %v, rejected %v", err, res.Rejected)
		}
		if !errors.Is(err, groups.ErrDecrypt) && !errors.Is(err, groups.ErrForeign) && !errors.Is(err, groups.ErrMalformed) && !errors.Is(err, groups.ErrTooLarge) {
			t.Fatalf("untyped error: %v", err)
		}
		var ie groups.InputError
		if !errors.As(res.Rejected[0], &ie) || ie.Hash != c.str("input_hash") {
			t.Fatalf("rejection %v", res.Rejected)
		}
		gvEqual(t, "state after bad input", held.Dump(), before)
	} else if err != nil {
		t.Fatal(err)
	}
	if held.NeedsPush() != c.boolean("needs_push_after") || held.Seqno() != c.int("seqno_after") {
		t.Fatalf("after: needs push %v seqno %d", held.NeedsPush(), held.Seqno())
	}
	if res.Changed == c.boolean("serialized_unchanged") {
		t.Fatalf("changed %v", res.Changed)
	}
	cvSameSet(t, "current hashes", held.CurrentHashes(), cvStrings(c, "current_hashes_after"))
	cvCheckState(t, "after", held, domain, after)
	if c.boolean("serialized_unchanged") {
		if held.Hash() != groups.ConfigMessageHash(heldSer) {
			t.Fatal("serialization changed")
		}
	}
	if c.has("serialized_after") {
		p, err := held.PreparePush()
		if err != nil {
			t.Fatal(err)
		}
		gvEqual(t, "serialized after", p.Serialized, c.hex("serialized_after"))
	}

	// A fresh device given the same input.
	fresh, err := groups.OpenUserConfig(keys, domain, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err = fresh.MergeStored([]groups.ConfigInput{{Hash: c.str("input_hash"), Data: in}})
	cvSameSet(t, "fresh accepted", res.Accepted, cvStrings(c, "fresh_accepted"))
	if c.has("fresh_exception") != (err != nil) {
		t.Fatalf("fresh: err %v, libsession %v", err, c.has("fresh_exception"))
	}
	var freshState json.RawMessage
	c.decode(&freshState, "fresh_state")
	cvCheckState(t, "fresh", fresh, domain, freshState)
}

func cvStrings(c vcase, key string) []string {
	var s []string
	if c.has(key) {
		c.decode(&s, key)
	}
	return s
}

func cvSameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	sort.Strings(g)
	sort.Strings(w)
	if len(g) == 0 && len(w) == 0 {
		return
	}
	if !slices.Equal(g, w) {
		t.Fatalf("%s: %q, want %q", what, got, want)
	}
}

// The vectors' JSON shapes of each config's state.

type cvProfile struct {
	Name   *string `json:"name"`
	PicURL string  `json:"profile_pic_url"`
	PicKey string  `json:"profile_pic_key"`
	NTSPri int64   `json:"nts_priority"`
	NTSExp *int64  `json:"nts_expiry"`
	BMR    *bool   `json:"blinded_msgreqs"`
}

type cvContact struct {
	SessionID     string `json:"session_id"`
	Name          string `json:"name"`
	Nickname      string `json:"nickname"`
	PicURL        string `json:"profile_pic_url"`
	PicKey        string `json:"profile_pic_key"`
	Approved      bool   `json:"approved"`
	ApprovedMe    bool   `json:"approved_me"`
	Blocked       bool   `json:"blocked"`
	Priority      int64  `json:"priority"`
	Notifications int64  `json:"notifications"`
	MuteUntil     int64  `json:"mute_until"`
	ExpMode       int64  `json:"exp_mode"`
	ExpTimer      int64  `json:"exp_timer"`
	Created       int64  `json:"created"`
}

type cvContacts struct {
	Contacts []cvContact `json:"contacts"`
}

type cvConvoID struct {
	SessionID string `json:"session_id,omitempty"`
	ID        string `json:"id,omitempty"`
	LastRead  int64  `json:"last_read"`
	Unread    bool   `json:"unread"`
}

type cvConvoComm struct {
	BaseURL  string `json:"base_url"`
	Room     string `json:"room"`
	RoomNorm string `json:"room_norm"`
	PubKey   string `json:"pubkey"`
	LastRead int64  `json:"last_read"`
	Unread   bool   `json:"unread"`
}

type cvConvos struct {
	OneToOne     []cvConvoID   `json:"one_to_one"`
	Communities  []cvConvoComm `json:"communities"`
	Groups       []cvConvoID   `json:"groups"`
	LegacyGroups []cvConvoID   `json:"legacy_groups"`
}

type cvBase struct {
	Priority      int64 `json:"priority"`
	JoinedAt      int64 `json:"joined_at"`
	Notifications int64 `json:"notifications"`
	MuteUntil     int64 `json:"mute_until"`
	Invited       bool  `json:"invited"`
}

type cvGroup struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	SecretKey string `json:"secretkey"`
	AuthData  string `json:"auth_data"`
	Removed   int64  `json:"removed_status"`
	Kicked    bool   `json:"kicked"`
	Destroyed bool   `json:"destroyed"`
	cvBase
}

type cvCommunity struct {
	BaseURL  string `json:"base_url"`
	Room     string `json:"room"`
	RoomNorm string `json:"room_norm"`
	PubKey   string `json:"pubkey"`
	cvBase
}

type cvLegacyMember struct {
	SessionID string `json:"session_id"`
	Admin     bool   `json:"admin"`
}

type cvLegacy struct {
	SessionID string           `json:"session_id"`
	Name      string           `json:"name"`
	EncPub    string           `json:"enc_pubkey"`
	EncSec    string           `json:"enc_seckey"`
	Timer     int64            `json:"disappearing_timer"`
	Members   []cvLegacyMember `json:"members"`
	cvBase
}

type cvUserGroups struct {
	Groups       []cvGroup     `json:"groups"`
	Communities  []cvCommunity `json:"communities"`
	LegacyGroups []cvLegacy    `json:"legacy_groups"`
}

// cvState reads the config's state through the typed models into the vectors' shape.
func cvState(t *testing.T, d groups.Dict, domain string) any {
	t.Helper()
	switch domain {
	case groups.DomainUserProfile:
		p := groups.UserProfileFromData(d)
		out := cvProfile{PicURL: p.PicURL, PicKey: hex.EncodeToString(p.PicKey), NTSPri: p.NoteToSelfPriority}
		if p.Name != "" {
			out.Name = &p.Name
		}
		if p.NoteToSelfExpiry > 0 {
			out.NTSExp = &p.NoteToSelfExpiry
		}
		if p.BlindedMsgRequests >= 0 {
			b := p.BlindedMsgRequests == 1
			out.BMR = &b
		}
		return out
	case groups.DomainContacts:
		out := cvContacts{Contacts: []cvContact{}}
		for _, x := range groups.ContactsFromData(d) {
			out.Contacts = append(out.Contacts, cvContact{
				SessionID: x.ID.String(), Name: x.Name, Nickname: x.Nickname, PicURL: x.PicURL, PicKey: hex.EncodeToString(x.PicKey),
				Approved: x.Approved, ApprovedMe: x.ApprovedMe, Blocked: x.Blocked, Priority: x.Priority,
				Notifications: int64(x.Notifications), MuteUntil: x.MuteUntil, ExpMode: x.ExpirationMode, ExpTimer: x.ExpirationTimer, Created: x.Created,
			})
		}
		return out
	case groups.DomainConvoInfoVolatile:
		out := cvConvos{OneToOne: []cvConvoID{}, Communities: []cvConvoComm{}, Groups: []cvConvoID{}, LegacyGroups: []cvConvoID{}}
		for _, x := range groups.ConvosFromData(d) {
			switch x.Kind {
			case groups.ConvoOneToOne:
				out.OneToOne = append(out.OneToOne, cvConvoID{SessionID: x.ID.String(), LastRead: x.LastRead, Unread: x.Unread})
			case groups.ConvoGroup:
				out.Groups = append(out.Groups, cvConvoID{ID: x.ID.String(), LastRead: x.LastRead, Unread: x.Unread})
			case groups.ConvoLegacyGroup:
				out.LegacyGroups = append(out.LegacyGroups, cvConvoID{ID: x.ID.String(), LastRead: x.LastRead, Unread: x.Unread})
			case groups.ConvoCommunity:
				out.Communities = append(out.Communities, cvConvoComm{BaseURL: x.BaseURL, Room: x.Room, RoomNorm: x.Room,
					PubKey: hex.EncodeToString(x.PubKey[:]), LastRead: x.LastRead, Unread: x.Unread})
			}
		}
		return out
	case groups.DomainUserGroups:
		out := cvUserGroups{Groups: []cvGroup{}, Communities: []cvCommunity{}, LegacyGroups: []cvLegacy{}}
		for _, g := range groups.UserGroupsFromData(d) {
			x := cvGroup{ID: g.ID().String(), Name: g.Name, SecretKey: hex.EncodeToString(g.SecretKey()), Removed: int64(g.Removed),
				Kicked: g.Kicked(), Destroyed: g.Destroyed(),
				cvBase: cvBase{Priority: g.Priority, JoinedAt: g.Joined, Notifications: int64(g.Notify), MuteUntil: g.MuteUntil, Invited: g.Invited}}
			if g.AuthData != nil {
				x.AuthData = hex.EncodeToString(g.AuthData[:])
			}
			out.Groups = append(out.Groups, x)
		}
		for _, cm := range groups.CommunitiesFromData(d) {
			norm, err := groups.CanonicalRoom(cm.Room)
			if err != nil {
				t.Fatal(err)
			}
			out.Communities = append(out.Communities, cvCommunity{BaseURL: cm.BaseURL, Room: cm.Room, RoomNorm: norm, PubKey: hex.EncodeToString(cm.PubKey[:]),
				cvBase: cvBase{Priority: cm.Priority, JoinedAt: cm.Joined, Notifications: int64(cm.Notify), MuteUntil: cm.MuteUntil, Invited: cm.Invited}})
		}
		for _, l := range groups.LegacyGroupsFromData(d) {
			x := cvLegacy{SessionID: l.ID.String(), Name: l.Name, EncPub: hex.EncodeToString(l.EncPubKey), EncSec: hex.EncodeToString(l.EncSecKey),
				Timer: l.DisappearingTimer, Members: []cvLegacyMember{},
				cvBase: cvBase{Priority: l.Priority, JoinedAt: l.Joined, Notifications: int64(l.Notify), MuteUntil: l.MuteUntil, Invited: l.Invited}}
			for _, m := range l.Members {
				x.Members = append(x.Members, cvLegacyMember{SessionID: m.ID.String(), Admin: m.Admin})
			}
			out.LegacyGroups = append(out.LegacyGroups, x)
		}
		return out
	}
	t.Fatalf("unknown domain %q", domain)
	return nil
}

// cvCheckState compares the config's state with the vector's.
func cvCheckState(t *testing.T, what string, u *groups.UserConfig, domain string, want json.RawMessage) {
	t.Helper()
	got := cvState(t, u.Data(), domain)
	wantV := reflect.New(reflect.TypeOf(got))
	if err := json.Unmarshal(want, wantV.Interface()); err != nil {
		t.Fatalf("%s: state: %v", what, err)
	}
	cvNormalize(wantV.Interface())
	if !reflect.DeepEqual(got, wantV.Elem().Interface()) {
		g, _ := json.Marshal(got)
		t.Fatalf("%s: state\n got  %s\n want %s", what, g, want)
	}
}

// cvNormalize gives decoded vectors the empty (non-nil) lists our readers return.
func cvNormalize(v any) {
	switch x := v.(type) {
	case *cvContacts:
		if x.Contacts == nil {
			x.Contacts = []cvContact{}
		}
	case *cvConvos:
		for _, l := range []*[]cvConvoID{&x.OneToOne, &x.Groups, &x.LegacyGroups} {
			if *l == nil {
				*l = []cvConvoID{}
			}
		}
		if x.Communities == nil {
			x.Communities = []cvConvoComm{}
		}
	case *cvUserGroups:
		if x.Groups == nil {
			x.Groups = []cvGroup{}
		}
		if x.Communities == nil {
			x.Communities = []cvCommunity{}
		}
		if x.LegacyGroups == nil {
			x.LegacyGroups = []cvLegacy{}
		}
		for i := range x.LegacyGroups {
			if x.LegacyGroups[i].Members == nil {
				x.LegacyGroups[i].Members = []cvLegacyMember{}
			}
		}
	}
}

// cvApply changes the config, through the typed models, to the vector's state: entries not in
// it are erased, and every entry in it is set.
func cvApply(t *testing.T, u *groups.UserConfig, domain string, state json.RawMessage, now time.Time) {
	t.Helper()
	var applyErr error
	must := func(err error) {
		if err != nil && applyErr == nil {
			applyErr = err
		}
	}
	id := func(s string) crypto.AccountID {
		x, err := crypto.ParseAccountID(s)
		must(err)
		return x
	}
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		must(err)
		return b
	}
	var update func(d groups.Dict)
	switch domain {
	case groups.DomainUserProfile:
		var s cvProfile
		must(json.Unmarshal(state, &s))
		p := groups.UserProfile{PicURL: s.PicURL, PicKey: unhex(s.PicKey), NoteToSelfPriority: s.NTSPri, BlindedMsgRequests: -1}
		if s.Name != nil {
			p.Name = *s.Name
		}
		if s.NTSExp != nil {
			p.NoteToSelfExpiry = *s.NTSExp
		}
		if s.BMR != nil {
			p.BlindedMsgRequests = 0
			if *s.BMR {
				p.BlindedMsgRequests = 1
			}
		}
		update = p.Apply
	case groups.DomainContacts:
		var s cvContacts
		must(json.Unmarshal(state, &s))
		update = func(d groups.Dict) {
			keep := map[crypto.AccountID]bool{}
			for _, x := range s.Contacts {
				keep[id(x.SessionID)] = true
				must(groups.SetContact(d, groups.Contact{ID: id(x.SessionID), Name: x.Name, Nickname: x.Nickname, PicURL: x.PicURL, PicKey: unhex(x.PicKey),
					Approved: x.Approved, ApprovedMe: x.ApprovedMe, Blocked: x.Blocked, Priority: x.Priority,
					Notifications: groups.NotifyMode(x.Notifications), MuteUntil: x.MuteUntil, ExpirationMode: x.ExpMode, ExpirationTimer: x.ExpTimer, Created: x.Created}))
			}
			for _, x := range groups.ContactsFromData(d) {
				if !keep[x.ID] {
					groups.EraseContact(d, x.ID)
				}
			}
		}
	case groups.DomainConvoInfoVolatile:
		var s cvConvos
		must(json.Unmarshal(state, &s))
		var want []groups.Convo
		for _, x := range s.OneToOne {
			want = append(want, groups.Convo{Kind: groups.ConvoOneToOne, ID: id(x.SessionID), LastRead: x.LastRead, Unread: x.Unread})
		}
		for _, x := range s.Groups {
			want = append(want, groups.Convo{Kind: groups.ConvoGroup, ID: id(x.ID), LastRead: x.LastRead, Unread: x.Unread})
		}
		for _, x := range s.LegacyGroups {
			want = append(want, groups.Convo{Kind: groups.ConvoLegacyGroup, ID: id(x.ID), LastRead: x.LastRead, Unread: x.Unread})
		}
		for _, x := range s.Communities {
			want = append(want, groups.Convo{Kind: groups.ConvoCommunity, BaseURL: x.BaseURL, Room: x.Room, PubKey: [32]byte(unhex(x.PubKey)), LastRead: x.LastRead, Unread: x.Unread})
		}
		update = func(d groups.Dict) {
			key := func(c groups.Convo) string { return fmt.Sprint(c.Kind, c.ID, c.BaseURL, c.Room) }
			keep := map[string]bool{}
			for _, c := range want {
				keep[key(c)] = true
				must(groups.SetConvo(d, c, now))
			}
			for _, c := range groups.ConvosFromData(d) {
				if !keep[key(c)] {
					groups.EraseConvo(d, c)
				}
			}
		}
	case groups.DomainUserGroups:
		var s cvUserGroups
		must(json.Unmarshal(state, &s))
		update = func(d groups.Dict) {
			keep := map[string]bool{}
			for _, x := range s.Groups {
				gid := id(x.ID)
				g := groups.UserGroup{PublicKey: [32]byte(gid[1:]), Name: x.Name, Removed: groups.GroupRemoval(x.Removed), Notify: groups.NotifyMode(x.Notifications),
					MuteUntil: x.MuteUntil, Priority: x.Priority, Invited: x.Invited, Joined: x.JoinedAt}
				if sk := unhex(x.SecretKey); len(sk) == 64 {
					g.Seed = sk[:32]
				}
				if a := unhex(x.AuthData); len(a) == groups.AuthDataSize {
					ad := groups.AuthData(a)
					g.AuthData = &ad
				}
				keep["g"+x.ID] = true
				must(groups.SetUserGroup(d, g))
			}
			for _, x := range s.Communities {
				keep["o"+x.BaseURL+"/"+x.RoomNorm] = true
				must(groups.SetCommunity(d, groups.UserCommunity{BaseURL: x.BaseURL, Room: x.Room, PubKey: [32]byte(unhex(x.PubKey)),
					Notify: groups.NotifyMode(x.Notifications), MuteUntil: x.MuteUntil, Priority: x.Priority, Invited: x.Invited, Joined: x.JoinedAt}))
			}
			for _, x := range s.LegacyGroups {
				l := groups.LegacyGroup{ID: id(x.SessionID), Name: x.Name, EncPubKey: unhex(x.EncPub), EncSecKey: unhex(x.EncSec), DisappearingTimer: x.Timer,
					Notify: groups.NotifyMode(x.Notifications), MuteUntil: x.MuteUntil, Priority: x.Priority, Invited: x.Invited, Joined: x.JoinedAt}
				for _, m := range x.Members {
					l.Members = append(l.Members, groups.LegacyMember{ID: id(m.SessionID), Admin: m.Admin})
				}
				keep["C"+x.SessionID] = true
				must(groups.SetLegacyGroup(d, l))
			}
			for _, g := range groups.UserGroupsFromData(d) {
				if !keep["g"+g.ID().String()] {
					groups.EraseUserGroup(d, g.PublicKey)
				}
			}
			for _, cm := range groups.CommunitiesFromData(d) {
				norm, _ := groups.CanonicalRoom(cm.Room)
				if !keep["o"+cm.BaseURL+"/"+norm] {
					groups.EraseCommunity(d, cm.BaseURL, cm.Room)
				}
			}
			for _, l := range groups.LegacyGroupsFromData(d) {
				if !keep["C"+l.ID.String()] {
					groups.EraseLegacyGroup(d, l.ID)
				}
			}
		}
	default:
		t.Fatalf("unknown domain %q", domain)
	}
	if err := u.Update(update); err != nil {
		t.Fatal(err)
	}
	if applyErr != nil {
		t.Fatal(applyErr)
	}
	cvCheckState(t, "after applying", u, domain, state)
}
