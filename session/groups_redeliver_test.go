package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// The events of a group's state changes (a join, a new config, a history clear, a removal) are
// delivered again when a handler fails on them, as message events are: the change was saved
// before they were dispatched, so they are kept in the group's record until taken.
func TestGroupStateEventsRedeliveredAfterHandlerError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := gDevnet(t)
	admin := gNewPeer(t, cfg, "Admin")
	member := gNewPeer(t, cfg, "Member")

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
