package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/store"
)

// An account read back from the store never shows its seed, under any verb or in JSON.
func testAccountRedacted(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := TestAccount(t, 7)
	for i := range a.Seed {
		a.Seed[i] = 0xA5 // a recognisable pattern in every encoding
	}
	if err := s.PutAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAccount(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	CheckRedacted(t, got, got.Seed[:])
	all, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	CheckRedacted(t, all, got.Seed[:])
}

// CheckRedacted fails t if v, formatted under any common verb or marshalled to JSON, shows
// secret in hex, base64-ish decimal bytes or raw.
func CheckRedacted(t testing.TB, v any, secret []byte) {
	t.Helper()
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, v))
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json: %v", err)
	}
	outs = append(outs, string(b))
	needles := []string{fmt.Sprintf("%x", secret), fmt.Sprintf("%X", secret), fmt.Sprint(secret[:4]),
		fmt.Sprintf("%#x", secret[0]) + ", " + fmt.Sprintf("%#x", secret[1]), string(secret[:8])}
	b64, _ := json.Marshal(secret)
	needles = append(needles, strings.Trim(string(b64), `"`)[:16])
	for _, out := range outs {
		for _, n := range needles {
			if strings.Contains(strings.ToLower(out), strings.ToLower(n)) {
				t.Fatalf("secret shown: %q contains %q", out, n)
			}
		}
	}
}

// Seen-message records are kept MaxMessageTTL + PruneMargin after they were saved, whatever
// expiry a node gives: a junk expiry cannot keep them longer, and an early one (now, or in the
// past) cannot make them go early (a node claiming one could then serve the message again and
// have it delivered twice). Neither can a lying clock passed to Prune before that.
func testPruneBounds(t *testing.T, s store.Store) {
	ctx := context.Background()
	acc := TestAccount(t, 11).ID
	c := store.Cursor{Account: acc, Swarm: acc}
	start := time.Now()
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	past := time.UnixMilli(1000)
	normal := start.Add(14 * 24 * time.Hour)
	msgs := []store.Incoming{Msg("far", 0, far), Msg("zero", 0, time.Time{}), Msg("past", 0, past),
		Msg("now", 0, start), Msg("hour", 0, start.Add(time.Hour)), Msg("normal", 0, normal)}
	if _, err := s.SaveRetrieved(ctx, c, msgs, "normal"); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := s.MarkHandled(ctx, acc, m.Hash); err != nil {
			t.Fatal(err)
		}
	}
	// Records saved as handled (never pending) follow the same rule.
	for _, m := range []store.Incoming{Msg("own-now", 0, start), Msg("own-past", 0, past)} {
		if err := s.SaveHandled(ctx, acc, m); err != nil {
			t.Fatal(err)
		}
	}
	end := time.Now() // every record above was saved in [start, end]
	all := []string{"far", "zero", "past", "now", "hour", "normal", "own-now", "own-past"}
	seen := func(h string) bool {
		t.Helper()
		p, err := s.Pending(ctx, acc)
		if err != nil || len(p) != 0 {
			t.Fatalf("pending %v %v", p, err)
		}
		fresh, err := s.SaveRetrieved(ctx, c, []store.Incoming{Msg(h, 0, normal)}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(fresh) == 1 {
			// It was forgotten: mark the re-added copy handled (each hash is found forgotten
			// once, at the end).
			if err := s.MarkHandled(ctx, acc, h); err != nil {
				t.Fatal(err)
			}
			return false
		}
		return true
	}
	prune := func(at time.Time) {
		t.Helper()
		if err := s.Prune(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	// The old rule's bounds (a claimed expiry, bounded below by the time saved, plus the
	// margin) and a clock 15 days ahead forget nothing.
	for _, at := range []time.Time{start.Add(-time.Minute), end.Add(store.PruneMargin + time.Minute),
		end.Add(time.Hour + store.PruneMargin + time.Minute), end.Add(15 * 24 * time.Hour),
		normal.Add(store.PruneMargin + time.Minute)} {
		prune(at)
		for _, h := range all {
			if !seen(h) {
				t.Fatalf("%s forgotten by a prune at start+%v, before MaxMessageTTL + PruneMargin", h, at.Sub(start).Round(time.Minute))
			}
		}
	}
	prune(store.SeenUntil(start).Add(-time.Hour))
	for _, h := range all {
		if !seen(h) {
			t.Fatalf("%s forgotten an hour before MaxMessageTTL + PruneMargin", h)
		}
	}
	// Pending messages are never pruned.
	if _, err := s.SaveRetrieved(ctx, c, []store.Incoming{Msg("kept", 0, past)}, ""); err != nil {
		t.Fatal(err)
	}
	prune(store.SeenUntil(end).Add(time.Hour))
	if p, _ := s.Pending(ctx, acc); len(p) != 1 || p[0].Hash != "kept" {
		t.Fatalf("pending after pruning: %v", p)
	}
	if err := s.MarkHandled(ctx, acc, "kept"); err != nil {
		t.Fatal(err)
	}
	for _, h := range all {
		if seen(h) {
			t.Fatalf("%s outlived MaxMessageTTL + PruneMargin", h)
		}
	}
}

// With a bound of 50 records per account, the oldest handled records go first and pending ones
// never do.
func testSeenBound(t *testing.T, s store.Store) {
	ctx := context.Background()
	acc := TestAccount(t, 12).ID
	c := store.Cursor{Account: acc, Swarm: acc}
	exp := time.Now().Add(time.Hour)
	batch := func(prefix string, from, to int) []store.Incoming {
		var out []store.Incoming
		for i := from; i < to; i++ {
			out = append(out, Msg(fmt.Sprintf("%s%03d", prefix, i), 0, exp))
		}
		return out
	}
	if _, err := s.SaveRetrieved(ctx, c, batch("h", 0, 40), "h039"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if err := s.MarkHandled(ctx, acc, fmt.Sprintf("h%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// 20 more pending: 60 records > 50, so 60-50+5 = 15 of the oldest handled go.
	if fresh, err := s.SaveRetrieved(ctx, c, batch("p", 0, 20), "p019"); err != nil || len(fresh) != 20 {
		t.Fatalf("save: %d %v", len(fresh), err)
	}
	if p, _ := s.Pending(ctx, acc); len(p) != 20 {
		t.Fatalf("pending = %d, want 20", len(p))
	}
	other := TestAccount(t, 13).ID
	oc := store.Cursor{Account: other, Swarm: other}
	// Check which hashes acc still knows, on a copy of the question that changes nothing we
	// look at afterwards: ask in one batch, newest first.
	fresh, err := s.SaveRetrieved(ctx, c, append(batch("h", 15, 40), batch("h", 0, 15)...), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) != 15 || fresh[0].Hash != "h000" || fresh[14].Hash != "h014" {
		var hs []string
		for _, f := range fresh {
			hs = append(hs, f.Hash)
		}
		t.Fatalf("forgotten = %v, want h000..h014", hs)
	}
	// Pending messages are never dropped, even beyond the bound.
	if _, err := s.SaveRetrieved(ctx, oc, batch("q", 0, 80), "q079"); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pending(ctx, other); len(p) != 80 {
		t.Fatalf("pending beyond the bound = %d, want 80", len(p))
	}
}
