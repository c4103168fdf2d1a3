package community_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/onion"
)

// fakeTransport answers every request with one canned response. The devnet's community server
// never sends Retry-After, 5xx or broken JSON, so these cases need a test double.
type fakeTransport struct {
	resp *onion.Response
	err  error
	last *onion.ServerRequest
}

func (f *fakeTransport) Do(ctx context.Context, s onion.Server, r *onion.ServerRequest) (*onion.Response, error) {
	f.last = r
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return f.resp, f.err
}

func fakeClient(t *testing.T, f *fakeTransport) *community.Client {
	t.Helper()
	u, err := community.ParseURL("https://sogs.example/lobby?public_key=" + strings.Repeat("11", 32))
	must(t, err)
	c, err := community.New(community.Config{Keys: newKeys(t), Server: u.Server, Transport: f})
	must(t, err)
	return c
}

func TestStatusErrors(t *testing.T) {
	ctx := context.Background()
	f := &fakeTransport{}
	c := fakeClient(t, f)

	f.resp = &onion.Response{Status: 429, Headers: map[string]string{"retry-after": "7"}, Body: []byte("slow down")}
	_, err := c.Post(ctx, "lobby", []byte("x"), nil)
	var he *community.HTTPError
	if !errors.Is(err, community.ErrRateLimited) || !errors.As(err, &he) || he.RetryAfter != 7*time.Second || string(he.Body) != "slow down" {
		t.Fatalf("429: %v", err)
	}
	// The request was signed and typed as the spec says.
	if f.last.Headers["Content-Type"] != "application/json" || f.last.Headers["X-SOGS-Pubkey"][:2] != "15" || len(f.last.Headers["X-SOGS-Signature"]) != 88 {
		t.Fatalf("headers %v", f.last.Headers)
	}
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	f.resp = &onion.Response{Status: 429, Headers: map[string]string{"Retry-After": date}}
	if _, err := c.Room(ctx, "lobby"); !errors.As(err, &he) || he.RetryAfter < 80*time.Second || he.RetryAfter > 91*time.Second {
		t.Fatalf("429 with a date: %v", err)
	}
	for status, want := range map[int]error{
		304: community.ErrNotModified, 400: community.ErrBadRequest, 401: community.ErrUnauthorized,
		403: community.ErrForbidden, 404: community.ErrNotFound, 412: community.ErrMissingCapability,
		413: community.ErrTooLarge, 425: community.ErrClockSkew, 500: community.ErrServer, 503: community.ErrServer,
	} {
		f.resp = &onion.Response{Status: status, Body: []byte(strings.Repeat("x", 2000))}
		_, err := c.Room(ctx, "lobby")
		if !errors.Is(err, want) || !errors.As(err, &he) || he.Status != status || len(he.Body) != 512 {
			t.Fatalf("%d: %v", status, err)
		}
	}
	f.resp = &onion.Response{Status: 425, Body: []byte("X-SOGS-Nonce cannot be reused")}
	if _, err := c.Room(ctx, "lobby"); !errors.Is(err, community.ErrNonceReused) || !errors.Is(err, community.ErrTooEarly) {
		t.Fatalf("425 nonce: %v", err)
	}

	// Malformed 2xx bodies are ErrMalformedReply, never a panic.
	for _, body := range []string{"", "{", "[]", `{"token": 5}`, `{"token": "bad token!"}`, "null"} {
		f.resp = &onion.Response{Status: 200, Body: []byte(body)}
		if _, err := c.Room(ctx, "lobby"); !errors.Is(err, community.ErrMalformedReply) {
			t.Fatalf("room %q: %v", body, err)
		}
		if _, err := c.Since(ctx, "lobby", 0, nil); body != "[]" && body != "null" && !errors.Is(err, community.ErrMalformedReply) {
			t.Fatalf("since %q: %v", body, err)
		}
		if _, err := c.Poll(ctx, community.PollRequest{Rooms: []community.RoomCursor{{Token: "lobby"}}}); !errors.Is(err, community.ErrMalformedReply) {
			t.Fatalf("poll %q: %v", body, err)
		}
	}
	// A huge post (4 MB) whose signature does not verify is skipped, not returned.
	huge := `[{"id":9,"seqno":9,"session_id":"15` + strings.Repeat("ab", 32) + `","posted":1,"data":"` +
		strings.Repeat("A", 4<<20) + `","signature":"` + strings.Repeat("A", 86) + `=="}]`
	f.resp = &onion.Response{Status: 200, Body: []byte(huge)}
	if page, err := c.Since(ctx, "lobby", 0, nil); err != nil || len(page.Messages) != 0 || len(page.Skipped) != 1 || page.Skipped[0].ID != 9 {
		t.Fatalf("huge post: %+v %v", page, err)
	}
	// A batch answer with the wrong number of parts.
	f.resp = &onion.Response{Status: 200, Body: []byte(`[{"code":200,"body":{}}]`)}
	if _, err := c.Poll(ctx, community.PollRequest{Rooms: []community.RoomCursor{{Token: "lobby"}}}); !errors.Is(err, community.ErrMalformedReply) {
		t.Fatalf("short batch: %v", err)
	}
	// Per-room failures and a 304 inbox inside a poll.
	f.resp = &onion.Response{Status: 200, Body: []byte(`[{"code":200,"body":{"capabilities":["sogs"]}},
		{"code":403,"headers":{"content-type":"text/plain"},"body":"Rm9yYmlkZGVu"},{"code":403,"body":null},
		{"code":304,"body":null},{"code":200,"body":[{"id":"x"},{"id":1,"sender":"05","recipient":"","message":"!"}]}]`)}
	res, err := c.Poll(ctx, community.PollRequest{Rooms: []community.RoomCursor{{Token: "lobby"}}, DMs: true})
	if err != nil || !errors.Is(res.Rooms[0].Err, community.ErrForbidden) || !strings.Contains(res.Rooms[0].Err.Error(), "Forbidden") ||
		res.DMErr != nil || len(res.DMSkipped) != 2 || len(res.Inbox) != 0 {
		t.Fatalf("poll %+v %v", res, err)
	}
	for _, sk := range res.DMSkipped {
		if !errors.Is(sk.Err, community.ErrMalformedReply) {
			t.Fatalf("DM skipped: %+v", sk)
		}
	}

	// Transport errors and ctx are passed through.
	f.resp, f.err = nil, onion.ErrClosed
	if _, err := c.Room(ctx, "lobby"); !errors.Is(err, onion.ErrClosed) {
		t.Fatalf("transport error: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Room(cctx, "lobby"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	// Arguments refused before sending.
	f.last = nil
	for _, err := range []error{
		func() error { _, err := c.Room(ctx, "a/b"); return err }(),
		func() error { _, err := c.Post(ctx, "lobby", nil, nil); return err }(),
		func() error { _, _, err := c.React(ctx, "lobby", 1, strings.Repeat("x", 13)); return err }(),
		func() error { _, _, err := c.React(ctx, "lobby", 1, "a/b"); return err }(),
		func() error { _, err := c.UploadFile(ctx, "lobby", nil, ""); return err }(),
	} {
		if !errors.Is(err, community.ErrInvalidArgument) {
			t.Fatalf("argument: %v", err)
		}
	}
	if _, err := c.UploadFile(ctx, "lobby", make([]byte, community.MaxFileSize+1), ""); !errors.Is(err, community.ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	if f.last != nil {
		t.Fatal("a refused argument was sent")
	}
	if _, err := community.New(community.Config{}); !errors.Is(err, community.ErrInvalidArgument) {
		t.Fatalf("empty config: %v", err)
	}
}
