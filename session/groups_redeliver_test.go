package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/groups"
)

// The events of a group's state changes (a join, a new config, a history clear, a removal) are
// delivered again when a handler fails on them, as message events are: the change was saved
// before they were dispatched, so they are kept in the group's record until taken.
func TestGroupStateEventsRedeliveredAfterHandlerError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, member := gAdminAndMember(t)

	// The handler fails once on the next event of the armed type.
	var mu sync.Mutex
	armed := ""
	arm := func(kind string) {
		mu.Lock()
		armed = kind
		mu.Unlock()
	}
	member.AddEventHandlerE(func(_ context.Context, evt Event) error {
		mu.Lock()
		defer mu.Unlock()
		if armed == "" || fmt.Sprintf("%T", evt) != armed {
			return nil
		}
		armed = ""
		return errors.New("handler down")
	})
	// twice waits until member has seen an event of type T twice (the failed delivery and the
	// next), with a HandlerError for the first that promised a retry.
	twice := func(step string, ok func(evt Event) bool) {
		t.Helper()
		defer func() {
			if t.Failed() {
				t.Log(member.rec.String())
			}
		}()
		WaitUntil(t, 15*time.Second, member.poll, func() bool {
			return CountEvents(member.rec, func(e Event) bool { return ok(e) }) >= 2
		})
		if n := CountEvents(member.rec, func(he *HandlerError) bool { return ok(he.Event) && he.Retry }); n != 1 {
			t.Fatalf("%s: %d handler errors with a retry, want 1", step, n)
		}
	}

	g, err := admin.CreateGroup(ctx, "Redeliver", member.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gWait(t, member, func(e *GroupInvite) bool { return e.Group == g.ID })
	arm("*session.GroupJoined")
	if err := member.AcceptGroupInvite(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	twice("joined", func(e Event) bool { j, ok := e.(*GroupJoined); return ok && j.Group.ID == g.ID })

	gWait(t, member, func(u *GroupUpdated) bool { return u.Group.ID == g.ID && len(u.Group.Members) == 2 })
	arm("*session.GroupUpdated")
	if err := admin.SetGroupName(ctx, g.ID, "Renamed", nil); err != nil {
		t.Fatal(err)
	}
	twice("updated", func(e Event) bool { u, ok := e.(*GroupUpdated); return ok && u.Group.Name == "Renamed" })

	before := time.Now().Add(-time.Second).Truncate(time.Second)
	arm("*session.GroupHistoryCleared")
	if err := admin.ClearGroupHistory(ctx, g.ID, before, false); err != nil {
		t.Fatal(err)
	}
	twice("cleared", func(e Event) bool { c, ok := e.(*GroupHistoryCleared); return ok && c.Before.Equal(before) })

	arm("*session.GroupRemoved")
	if err := admin.RemoveGroupMembers(ctx, g.ID, member.AccountID()); err != nil {
		t.Fatal(err)
	}
	twice("removed", func(e Event) bool { r, ok := e.(*GroupRemoved); return ok && r.Group == g.ID })

	// Delivered, they are forgotten: no third delivery.
	for range 3 {
		if err := member.poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := CountEvents(member.rec, func(e *GroupRemoved) bool { return e.Group == g.ID }); n != 2 {
		t.Fatalf("GroupRemoved delivered %d times", n)
	}
	st, err := member.loadGroup(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.rec.Undelivered) != 0 {
		t.Fatalf("events kept after delivery: %+v", st.rec.Undelivered)
	}
}

// One info config message can clear the history and the attachments at once: two
// GroupHistoryCleared events of one message. A handler failing on them has each given up after
// its own deliveries (one DeadLetter each), and the group's later messages then come: the two
// events must not share one failure count (which restarts at every give-up, so that they were
// never given up in the same round and the message came back for ever).
func TestGroupStateEventsOfOneMessageGivenUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const max = 3
	admin, member := gAdminAndMember(t, WithMaxDeliveries(max))
	member.AddEventHandlerE(func(_ context.Context, evt Event) error {
		if _, ok := evt.(*GroupHistoryCleared); ok {
			return errors.New("handler down")
		}
		return nil
	})
	g, err := admin.CreateGroup(ctx, "Give up", member.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gJoin(t, member, g.ID, admin.AccountID(), "Give up")

	before := time.Now().Add(-time.Second).Truncate(time.Second)
	err = admin.updateGroup(ctx, g.ID, func(st *groupState) error {
		if err := st.info.Update(func(d groups.Dict) {
			info := groups.InfoFromData(d)
			info.DeleteBefore, info.DeleteAttachmentsBefore = before.Unix(), before.Unix()
			info.Apply(d)
		}); err != nil {
			return err
		}
		return admin.pushGroupState(ctx, st, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	gWait(t, member, func(he *HandlerError) bool { _, ok := he.Event.(*GroupHistoryCleared); return ok })
	if _, err := admin.SendGroupText(ctx, g.ID, "after the clear"); err != nil {
		t.Fatal(err)
	}
	dead := func() int {
		return gCount(member, func(d *DeadLetter) bool { _, ok := d.Event.(*GroupHistoryCleared); return ok })
	}
	WaitUntil(t, WaitTimeout, member.poll, func() bool {
		return dead() >= 2 && gCount(member, gText(g.ID, admin.AccountID(), "after the clear")) == 1
	})
	for range 3 {
		if err := member.poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := dead(); n != 2 {
		t.Fatalf("%d dead letters for the two history clears, want 2:%s", n, member.rec)
	}
	for _, attachments := range []bool{false, true} {
		n := gCount(member, func(e *GroupHistoryCleared) bool { return e.AttachmentsOnly == attachments })
		if n != max {
			t.Fatalf("history clear (attachments only: %v) delivered %d times, want %d", attachments, n, max)
		}
	}
}

// A member whose handler failed on GroupJoined and who was removed before the next poll
// delivered it again: the join is over, nothing brings it back (a join's events come with no
// message), so it is forgotten with the removal, not kept for ever with the removed group
// handled at every poll.
func TestGroupJoinUndeliveredForgottenWhenRemoved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, member := gAdminAndMember(t)
	var mu sync.Mutex
	failed := false
	member.AddEventHandlerE(func(_ context.Context, evt Event) error {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := evt.(*GroupJoined); ok && !failed {
			failed = true
			return errors.New("handler down")
		}
		return nil
	})
	g, err := admin.CreateGroup(ctx, "Short stay", member.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gWait(t, member, func(e *GroupInvite) bool { return e.Group == g.ID })
	if err := member.AcceptGroupInvite(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	gWait(t, member, func(he *HandlerError) bool { _, ok := he.Event.(*GroupJoined); return ok && he.Retry })
	if err := admin.RemoveGroupMembers(ctx, g.ID, member.AccountID()); err != nil {
		t.Fatal(err)
	}
	gWait(t, member, func(e *GroupRemoved) bool { return e.Group == g.ID })
	for range 3 {
		if err := member.poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	st, err := member.loadGroup(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.rec.Status != GroupStatusRemoved || len(st.rec.Undelivered) != 0 {
		t.Fatalf("removed group: status %v, kept events %+v", st.rec.Status, st.rec.Undelivered)
	}
	if n := gCount(member, func(e *GroupJoined) bool { return e.Group.ID == g.ID }); n != 1 {
		t.Fatalf("GroupJoined delivered %d times (once before the removal):%s", n, member.rec)
	}
}

// gAdminAndMember starts a devnet with two peers on it, the admin and the member to be of a
// group (with opts).
func gAdminAndMember(t *testing.T, opts ...Option) (admin, member *gPeer) {
	t.Helper()
	cfg := gDevnet(t)
	return gNewPeer(t, cfg, "Admin"), gNewPeer(t, cfg, "Member", opts...)
}

// A group invitation (or promotion) whose event a handler failed on, or that the poll's end
// cut short (a fleet's handover), used to be recorded as handled all the same: the invitation
// was lost, here and for the account's next holder. It stays pending now and is delivered again.
// Found by review.
func TestGroupInviteRedeliveredAfterHandlerError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, member := gAdminAndMember(t)
	var seen sync.Mutex
	invites := 0
	member.AddEventHandlerE(func(_ context.Context, evt Event) error {
		if _, ok := evt.(*GroupInvite); !ok {
			return nil
		}
		seen.Lock()
		defer seen.Unlock()
		invites++
		if invites == 1 {
			return errors.New("transient failure")
		}
		return nil
	})
	g, err := admin.CreateGroup(ctx, "Invited", member.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gWait(t, member, func(e *GroupInvite) bool { return e.Group == g.ID })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		seen.Lock()
		n := invites
		seen.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the invitation was delivered %d time(s) after its handler failed", n)
		}
		if err := member.poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if pending, _ := member.store.Pending(ctx, member.AccountID()); len(pending) != 0 {
		t.Fatalf("%d messages still pending after the invitation was taken", len(pending))
	}
}
