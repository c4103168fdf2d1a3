package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// DefaultMaxDeliveries is how many times an event whose handler fails is delivered before it
// is given up as a [DeadLetter] (see [Client.AddEventHandlerE] and [WithMaxDeliveries]).
const DefaultMaxDeliveries = 5

// WithMaxDeliveries sets how many times an event is delivered while a handler fails on it
// (returns an error or panics) before it is given up (default DefaultMaxDeliveries; 1: never
// delivered again).
func WithMaxDeliveries(n int) Option { return func(c *config) { c.maxDeliveries = n } }

// HandlerError reports that a handler failed on an event: it returned an error
// (AddEventHandlerE) or panicked (Panic, with the goroutine's Stack). The event is delivered
// again by the next poll, to every handler, until it has been tried MaxDeliveries times; then a
// DeadLetter gives it up. Events that do not come from a stored message or a room (Connected,
// PollError, ...) and the events of the account's configs (the Synced events and
// ConfigRejected: the merge they report is saved whatever the handlers do) are not delivered
// again: Retry is false for them.
type HandlerError struct {
	Event   Event
	Err     error
	Attempt int  // 1 for the first delivery
	Retry   bool // the event will be delivered again
	Panic   bool
	Stack   []byte // the stack of a panic
}

// DeadLetter reports an event given up after its handlers failed on it Attempts times (Err is
// the last failure). The message it came from is marked handled: it is not delivered again.
type DeadLetter struct {
	Event    Event
	Err      error
	Attempts int
}

func (*HandlerError) isEvent() {}
func (*DeadLetter) isEvent()   {}

// PanicError is the error of a handler that panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("session: event handler panicked: %v", e.Value)
}

// errNotTaken: a handler could not take the event because ctx ended (a Subscribe channel
// nobody read). It is delivered again by the next poll; that is not a failure.
var errNotTaken = errors.New("session: event not taken")

// AddEventHandlerE registers fn to receive every event, like AddEventHandler, with a way to
// say "failed, deliver again": when fn returns an error (or panics), the event is reported as a
// HandlerError and, if it came from a stored message or a community room, left undelivered: the
// next poll delivers it again, to every handler (handlers must tolerate seeing an event twice),
// and the events after it in the same conversation wait for it. After MaxDeliveries failures
// (WithMaxDeliveries) it is given up with a DeadLetter event and the poll moves on. ctx is the
// poll's context: it ends when Run's does. It panics if fn is nil.
func (c *Client) AddEventHandlerE(fn func(ctx context.Context, evt Event) error) HandlerID {
	if fn == nil {
		panic("session: AddEventHandlerE: nil handler")
	}
	id := HandlerID(c.nextID.Add(1))
	c.handlersMu.Lock()
	c.handlers = append(c.handlers, handlerEntry{id: id, errFn: fn})
	c.handlersMu.Unlock()
	return id
}

// deliveries counts the failed deliveries of events (by eventKey) until they succeed or are
// given up. It is guarded by the dispatch lock.
type deliveries struct {
	failed map[string]int
}

// maxTrackedFailures bounds the failure counts kept for events that never came back (their
// message expired, the room was left).
const maxTrackedFailures = 10000

// deliver runs the handlers on evt (the dispatch lock held) and reports whether the event was
// taken: false when a handler could not take it (ctx ended), or failed on it and it is to be
// delivered again.
func (c *Client) deliver(ctx context.Context, evt Event) bool {
	c.handlersMu.RLock()
	hs := append([]handlerEntry(nil), c.handlers...)
	c.handlersMu.RUnlock()
	taken := true
	var failure error
	var panicked *PanicError
	for _, h := range hs {
		err := c.runHandler(ctx, h, evt)
		switch {
		case err == nil:
		case errors.Is(err, errNotTaken):
			taken = false
		default:
			if failure == nil {
				failure = err
				errors.As(err, &panicked)
			}
		}
	}
	if failure == nil {
		if taken {
			c.forgetFailures(evt)
		}
		return taken
	}
	key := eventKey(evt)
	if c.deliveries.failed == nil || len(c.deliveries.failed) >= maxTrackedFailures {
		c.deliveries.failed = map[string]int{}
	}
	attempt := 1
	if key != "" {
		c.deliveries.failed[key]++
		attempt = c.deliveries.failed[key]
	}
	max := c.cfg.maxDeliveries
	if max <= 0 {
		max = DefaultMaxDeliveries
	}
	retry := key != "" && attempt < max
	he := &HandlerError{Event: evt, Err: failure, Attempt: attempt, Retry: retry}
	if panicked != nil {
		he.Panic, he.Stack = true, panicked.Stack
	}
	c.report(ctx, hs, he)
	if retry {
		return false
	}
	if key != "" {
		delete(c.deliveries.failed, key)
		c.log.Warn("event given up after failed deliveries", "event", fmt.Sprintf("%T", evt), "attempts", attempt, "err", failure)
		c.report(ctx, hs, &DeadLetter{Event: evt, Err: failure, Attempts: attempt})
	}
	return taken
}

// report delivers a HandlerError or DeadLetter; handlers failing on it are only logged.
func (c *Client) report(ctx context.Context, hs []handlerEntry, evt Event) {
	for _, h := range hs {
		if err := c.runHandler(ctx, h, evt); err != nil && !errors.Is(err, errNotTaken) {
			c.log.Error("event handler failed on a failure report", "event", fmt.Sprintf("%T", evt), "err", err)
		}
	}
}

// runHandler runs one handler, turning a panic into a PanicError (logged with its stack, to
// the default logger when the client has none: a panic must not go unseen).
func (c *Client) runHandler(ctx context.Context, h handlerEntry, evt Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			stack := debug.Stack()
			err = &PanicError{Value: r, Stack: stack}
			log := c.log
			if !c.cfg.logSet {
				log = slog.Default().With("account", c.id.String())
			}
			log.Error("event handler panicked", "event", fmt.Sprintf("%T", evt), "panic", fmt.Sprint(r), "stack", string(stack))
		}
	}()
	if h.errFn != nil {
		return h.errFn(ctx, evt)
	}
	if !h.fn(ctx, evt) {
		return errNotTaken
	}
	return nil
}

func (c *Client) forgetFailures(evt Event) {
	if len(c.deliveries.failed) == 0 {
		return
	}
	if key := eventKey(evt); key != "" {
		delete(c.deliveries.failed, key)
	}
}

// eventKey identifies an event across deliveries: the same stored message or room change
// gives the same key each time it is decoded. It is made of the event's identifying fields
// (hash, room or server, ids, sender, times); "" for events that are not delivered again
// (connection events, the events of config merges, and those with no identifying field).
func eventKey(evt Event) string {
	switch evt.(type) {
	case *Connected, *Disconnected, *PollError, *HandlerError, *DeadLetter,
		*SyncedProfile, *SyncedContact, *SyncedRead, *SyncedGroup, *SyncedCommunity, *ConfigRejected:
		return ""
	}
	v := reflect.ValueOf(evt)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return ""
	}
	v = v.Elem()
	var b strings.Builder
	ident := false
	// AttachmentsOnly: one group info change may clear the history and the attachments (two
	// GroupHistoryCleared of one message), which must not share a failure count.
	for _, name := range []string{"Hash", "Room", "Server", "Group", "Conversation", "ID", "MessageID", "Seqno", "Outgoing", "From", "Timestamp", "At", "Emoji", "Target", "AttachmentsOnly"} {
		f := v.FieldByName(name)
		if !f.IsValid() || !f.CanInterface() {
			continue
		}
		var s string
		switch x := f.Interface().(type) {
		case string:
			s = x
		case int64:
			s = fmt.Sprint(x)
		case bool:
			s = fmt.Sprint(x)
		case crypto.AccountID:
			if x.IsZero() {
				continue
			}
			s = x.String()
		case time.Time:
			if x.IsZero() {
				continue
			}
			s = fmt.Sprint(x.UnixNano())
		case MessageRef:
			s = x.Author.String() + "@" + fmt.Sprint(x.Timestamp.UnixMilli())
		case Group: // GroupUpdated, GroupJoined: kept until delivered (stateEvent)
			s = x.ID.String()
		default:
			continue
		}
		if s == "" {
			continue
		}
		if name != "Outgoing" {
			ident = true
		}
		b.WriteString(name + "=" + s + ";")
	}
	if !ident {
		return ""
	}
	return fmt.Sprintf("%T;", evt) + b.String()
}
