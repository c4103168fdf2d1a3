package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/session"
)

// eventJSON is one event of 'listen -json'. Type names the event (the session type's name in
// snake case: "message", "group_invite", "community_message", ...); the other fields are set
// as the event has them.
type eventJSON struct {
	Type        string           `json:"type"`
	Hash        string           `json:"hash,omitempty"`
	From        string           `json:"from,omitempty"`
	FromAccount string           `json:"from_account,omitempty"`
	To          string           `json:"to,omitempty"`
	Group       string           `json:"group,omitempty"`
	Room        string           `json:"room,omitempty"`
	Server      string           `json:"server,omitempty"`
	ID          int64            `json:"id,omitempty"`
	Timestamp   string           `json:"timestamp,omitempty"`
	TimestampMs int64            `json:"timestamp_ms,omitempty"`
	Text        string           `json:"text,omitempty"`
	Name        string           `json:"name,omitempty"`
	DisplayName string           `json:"display_name,omitempty"`
	Emoji       string           `json:"emoji,omitempty"`
	Kind        string           `json:"kind,omitempty"`
	Members     []string         `json:"members,omitempty"`
	Read        []int64          `json:"read_ms,omitempty"` // read receipts: the sent times read
	Target      *refJSON         `json:"target,omitempty"`
	Quote       *refJSON         `json:"quote,omitempty"`
	Attachments []attachmentJSON `json:"attachments,omitempty"`
	Reactions   map[string]int   `json:"reactions,omitempty"`
	Sync        bool             `json:"sync,omitempty"`
	Request     bool             `json:"request,omitempty"`
	Outgoing    bool             `json:"outgoing,omitempty"`
	Self        bool             `json:"self,omitempty"`
	Removed     bool             `json:"removed,omitempty"`
	Promoted    bool             `json:"promoted,omitempty"`
	Error       string           `json:"error,omitempty"`
	RetryInMs   int64            `json:"retry_in_ms,omitempty"`
}

type refJSON struct {
	Author      string `json:"author"`
	TimestampMs int64  `json:"timestamp_ms"`
}

type attachmentJSON struct {
	URL         string `json:"url"`
	FileName    string `json:"file_name,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	Saved       string `json:"saved,omitempty"` // the file it was downloaded to (-download)
	Error       string `json:"error,omitempty"` // why the download failed
}

func ref(r *session.MessageRef) *refJSON {
	if r == nil {
		return nil
	}
	return &refJSON{Author: r.Author.String(), TimestampMs: r.Timestamp.UnixMilli()}
}

func ids(list []crypto.AccountID) []string {
	out := make([]string, len(list))
	for i, id := range list {
		out[i] = id.String()
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// typeName turns *session.GroupInvite into "group_invite".
func typeName(evt any) string {
	t := reflect.TypeOf(evt)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "unknown"
	}
	var b strings.Builder
	for i, r := range t.Name() {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// eventPrinter prints the events of 'listen'.
type eventPrinter struct {
	mu       sync.Mutex
	w, errw  io.Writer
	json     bool
	download string // directory for attachments ("" none)
	saved    int
}

func (p *eventPrinter) print(ctx context.Context, evt any) {
	e := toJSON(evt)
	if e.Attachments != nil {
		p.save(ctx, evt, e.Attachments)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		_ = json.NewEncoder(p.w).Encode(e)
		return
	}
	if line := text(evt, e); line != "" {
		w := p.w
		if e.Error != "" {
			w = p.errw
		}
		fmt.Fprintln(w, line)
	}
}

// save downloads the attachments of a message into the -download directory.
func (p *eventPrinter) save(ctx context.Context, evt any, out []attachmentJSON) {
	if p.download == "" {
		return
	}
	var atts []*session.Attachment
	switch e := evt.(type) {
	case *session.Message:
		atts = e.Attachments
	case *session.GroupMessage:
		atts = e.Attachments
	case *session.CommunityMessage:
		atts = e.Attachments
	}
	for i, a := range atts {
		if i >= len(out) {
			break
		}
		p.mu.Lock()
		p.saved++
		n := p.saved
		p.mu.Unlock()
		name := filepath.Base(filepath.Clean("/" + a.FileName))
		if name == "/" || name == "." || name == "" {
			name = "attachment"
		}
		path := filepath.Join(p.download, fmt.Sprintf("%d-%s", n, name))
		dctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := downloadTo(dctx, a, path)
		cancel()
		if err != nil {
			out[i].Error = err.Error()
			continue
		}
		out[i].Saved = path
	}
}

func downloadTo(ctx context.Context, a *session.Attachment, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := a.Download(ctx, f); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func attachments(list []*session.Attachment) []attachmentJSON {
	if len(list) == 0 {
		return nil
	}
	out := make([]attachmentJSON, len(list))
	for i, a := range list {
		out[i] = attachmentJSON{URL: a.URL, FileName: a.FileName, ContentType: a.ContentType, Size: a.Size}
	}
	return out
}

func displayName(p *session.Profile) string {
	if p == nil {
		return ""
	}
	return p.DisplayName
}

func toJSON(evt any) eventJSON {
	e := eventJSON{Type: typeName(evt)}
	at := func(t time.Time) {
		e.Timestamp, e.TimestampMs = timeJSON(t), t.UnixMilli()
		if t.IsZero() {
			e.TimestampMs = 0
		}
	}
	switch v := evt.(type) {
	case *session.Message:
		e.Hash, e.From, e.To, e.Text, e.Sync, e.Request = v.Hash, v.From.String(), v.To.String(), v.Text, v.Sync, v.Request
		e.DisplayName, e.Quote, e.Attachments = displayName(v.Profile), ref(v.Quote), attachments(v.Attachments)
		at(v.Timestamp)
	case *session.MessageRequest:
		e.From, e.DisplayName = v.From.String(), displayName(v.Profile)
	case *session.MessageRequestResponse:
		e.From, e.DisplayName = v.From.String(), displayName(v.Profile)
	case *session.Typing:
		e.From, e.Kind = v.From.String(), map[bool]string{true: "started", false: "stopped"}[v.Started]
		at(v.At)
	case *session.ReadReceipt:
		e.From = v.From.String()
		for _, t := range v.Timestamps {
			e.Read = append(e.Read, t.UnixMilli())
		}
		at(v.At)
	case *session.Reaction:
		e.From, e.Emoji, e.Removed, e.Target = v.From.String(), v.Emoji, v.Removed, ref(&v.Target)
		at(v.At)
	case *session.Unsend:
		e.From, e.Target = v.From.String(), ref(&v.Target)
		at(v.At)
	case *session.Disconnected:
		e.Error = errString(v.Err)
	case *session.PollError:
		e.Error, e.RetryInMs = errString(v.Err), v.Backoff.Milliseconds()
	case *session.UndecryptableMessage:
		e.Hash, e.Error = v.Hash, errString(v.Err)
	case *session.UnknownContent:
		e.Hash, e.From = v.Hash, v.From.String()
		at(v.Timestamp)
	case *session.GroupInvite:
		e.Hash, e.Group, e.Name, e.From, e.Promoted = v.Hash, v.Group.String(), v.Name, v.From.String(), v.Promoted
		at(v.Timestamp)
	case *session.GroupMessage:
		e.Hash, e.Group, e.From, e.Text = v.Hash, v.Group.String(), v.From.String(), v.Text
		e.DisplayName, e.Quote, e.Attachments = displayName(v.Profile), ref(v.Quote), attachments(v.Attachments)
		at(v.Timestamp)
	case *session.GroupMemberChange:
		e.Hash, e.Group, e.From, e.Kind, e.Members = v.Hash, v.Group.String(), v.By.String(), v.Kind.String(), ids(v.Members)
		at(v.Timestamp)
	case *session.GroupInfoChange:
		e.Hash, e.Group, e.From, e.Name = v.Hash, v.Group.String(), v.By.String(), v.Name
		at(v.Timestamp)
	case *session.GroupUpdated:
		e.Group, e.Name = v.Group.ID.String(), v.Group.Name
	case *session.GroupJoined:
		e.Group, e.Name = v.Group.ID.String(), v.Group.Name
	case *session.GroupRemoved:
		e.Group, e.Removed = v.Group.String(), true
		if v.Destroyed {
			e.Kind = "destroyed"
		}
	case *session.UndecryptableGroupMessage:
		e.Group, e.Hash, e.Error = v.Group.String(), v.Hash, errString(v.Err)
	case *session.CommunityMessage:
		e.Room, e.ID, e.From, e.FromAccount, e.Text, e.Self = v.Room, v.ID, v.From.String(), idJSON(v.FromAccount), v.Text, v.Self
		e.DisplayName, e.Quote, e.Attachments = displayName(v.Profile), ref(v.Quote), attachments(v.Attachments)
		at(v.Posted)
	case *session.CommunityMessageDeleted:
		e.Room, e.ID = v.Room, v.ID
	case *session.CommunityReaction:
		e.Room, e.ID = v.Room, v.MessageID
		e.Reactions = map[string]int{}
		for emoji, r := range v.Reactions {
			e.Reactions[emoji] = r.Count
		}
	case *session.CommunityDM:
		e.Server, e.ID, e.From, e.FromAccount, e.To, e.Text, e.Outgoing = v.Server, v.ID, v.From.String(), idJSON(v.FromAccount), v.To.String(), v.Text, v.Outgoing
		e.DisplayName = displayName(v.Profile)
		at(v.Posted)
	case *session.CommunitySkipped:
		e.Room, e.ID, e.Error = v.Room, v.ID, errString(v.Err)
	case *session.HandlerError:
		e.Kind, e.Error = typeName(v.Event), errString(v.Err)
	case *session.DeadLetter:
		e.Kind, e.Error = typeName(v.Event), errString(v.Err)
	}
	return e
}

// text is the human form of an event ("" to print nothing).
func text(evt any, e eventJSON) string {
	clock := ""
	if e.TimestampMs != 0 {
		clock = "[" + time.UnixMilli(e.TimestampMs).Format(time.TimeOnly) + "] "
	}
	who := e.From
	if e.DisplayName != "" {
		who = e.DisplayName + " (" + e.From + ")"
	}
	files := ""
	for _, a := range e.Attachments {
		files += fmt.Sprintf(" [file %q %s", a.FileName, a.ContentType)
		if a.Saved != "" {
			files += " saved as " + a.Saved
		}
		if a.Error != "" {
			files += " not saved: " + a.Error
		}
		files += "]"
	}
	switch v := evt.(type) {
	case *session.Message:
		if v.Sync {
			return fmt.Sprintf("%sme → %s: %s%s", clock, e.To, e.Text, files)
		}
		return fmt.Sprintf("%s%s: %s%s", clock, who, e.Text, files)
	case *session.MessageRequest:
		return fmt.Sprintf("message request from %s", who)
	case *session.Reaction:
		if v.Removed {
			return fmt.Sprintf("%s removed the reaction %s", e.From, e.Emoji)
		}
		return fmt.Sprintf("%s reacted %s", e.From, e.Emoji)
	case *session.ReadReceipt:
		return fmt.Sprintf("%s read %d message(s)", e.From, len(v.Timestamps))
	case *session.Unsend:
		return fmt.Sprintf("%s deleted a message", e.From)
	case *session.PollError:
		return fmt.Sprintf("poll failed (retrying in %v): %v", v.Backoff.Round(time.Millisecond), v.Err)
	case *session.Disconnected:
		return fmt.Sprintf("disconnected: %v", v.Err)
	case *session.UndecryptableMessage:
		return fmt.Sprintf("skipped a message that does not decrypt (%s): %v", v.Hash, v.Err)
	case *session.GroupInvite:
		return fmt.Sprintf("%s invited you to the group %q %s (accept: sessionctl group accept %s)", e.From, e.Name, e.Group, e.Group)
	case *session.GroupMessage:
		return fmt.Sprintf("%s[group %s] %s: %s%s", clock, e.Group, who, e.Text, files)
	case *session.GroupMemberChange:
		return fmt.Sprintf("[group %s] %s: %s %s", e.Group, e.From, e.Kind, strings.Join(e.Members, ", "))
	case *session.GroupJoined:
		return fmt.Sprintf("joined the group %q %s", e.Name, e.Group)
	case *session.GroupRemoved:
		if v.Destroyed {
			return fmt.Sprintf("the group %s was deleted", e.Group)
		}
		return fmt.Sprintf("removed from the group %s", e.Group)
	case *session.CommunityMessage:
		return fmt.Sprintf("%s[%s] %s (#%d): %s%s", clock, e.Room, who, e.ID, e.Text, files)
	case *session.CommunityMessageDeleted:
		return fmt.Sprintf("[%s] message #%d deleted", e.Room, e.ID)
	case *session.CommunityReaction:
		var parts []string
		for emoji, n := range e.Reactions {
			parts = append(parts, fmt.Sprintf("%s×%d", emoji, n))
		}
		sort.Strings(parts)
		return fmt.Sprintf("[%s] reactions on #%d: %s", e.Room, e.ID, strings.Join(parts, " "))
	case *session.CommunityDM:
		if v.Outgoing {
			return fmt.Sprintf("%sDM via %s to %s: %s", clock, e.Server, e.To, e.Text)
		}
		return fmt.Sprintf("%sDM via %s from %s (Account ID %s): %s", clock, e.Server, e.From, e.FromAccount, e.Text)
	case *session.CommunitySkipped:
		return fmt.Sprintf("[%s] skipped #%d: %v", e.Room, e.ID, v.Err)
	}
	return ""
}
