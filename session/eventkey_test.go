package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/store"
)

// A handler failing on an event of a config merge is told the truth: the merge is saved whatever
// the handlers do, so the event is not delivered again (Retry false, no DeadLetter), while an
// event of a stored message is.
func TestHandlerErrorRetryOnlyForRedeliveredEvents(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	c := clockedClient(t, store.NewMemory(), &now)
	var reports []*HandlerError
	c.AddEventHandlerE(func(_ context.Context, evt Event) error {
		if he, ok := evt.(*HandlerError); ok {
			reports = append(reports, he)
			return nil
		}
		if _, ok := evt.(*DeadLetter); ok {
			t.Fatal("a DeadLetter for an event delivered once")
		}
		return errors.New("down")
	})
	peer := crypto.AccountID{0x05, 7}
	for _, tc := range []struct {
		evt   Event
		retry bool
	}{
		{&SyncedContact{}, false},
		{&SyncedProfile{}, false},
		{&ConfigRejected{Config: "contacts", Hash: "h1"}, false},
		{&Message{Hash: "h2", From: peer}, true},
	} {
		reports = nil
		taken := c.deliver(context.Background(), tc.evt)
		if len(reports) != 1 || reports[0].Retry != tc.retry || taken == tc.retry {
			t.Fatalf("%T: taken %v, reports %+v", tc.evt, taken, reports)
		}
	}
}
