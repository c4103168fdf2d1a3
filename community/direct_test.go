package community_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/onion"
)

// scriptTransport fails the first n requests with err, then answers resp.
type scriptTransport struct {
	n    int
	err  error
	resp *onion.Response
	reqs []*onion.ServerRequest
}

func (s *scriptTransport) Do(ctx context.Context, _ onion.Server, r *onion.ServerRequest) (*onion.Response, error) {
	s.reqs = append(s.reqs, r)
	if len(s.reqs) <= s.n {
		return nil, s.err
	}
	return s.resp, nil
}

// Issue 12 item 11: a read whose first copy's fate is unknown (the direct transport's replay
// was refused for its spent nonce) is signed again and resent; a write is not, since it may
// have taken effect.
func TestReadsResentWhenOutcomeUnknown(t *testing.T) {
	ctx := context.Background()
	unknown := fmt.Errorf("onion: direct POST h: %w", onion.ErrRequestOutcomeUnknown)
	u, _ := community.ParseURL("https://sogs.example/lobby?public_key=" + fmt.Sprintf("%064x", 1))
	newClient := func(st *scriptTransport) *community.Client {
		c, err := community.New(community.Config{Keys: newKeys(t), Server: u.Server, Transport: st})
		must(t, err)
		return c
	}

	st := &scriptTransport{n: 1, err: unknown, resp: &onion.Response{Status: 200, Body: []byte(`{"token":"lobby"}`)}}
	if _, err := newClient(st).Room(ctx, "lobby"); err != nil || len(st.reqs) != 2 ||
		st.reqs[0].Headers["X-SOGS-Nonce"] == st.reqs[1].Headers["X-SOGS-Nonce"] {
		t.Fatalf("room: %v after %d requests", err, len(st.reqs))
	}

	st = &scriptTransport{n: 1, err: unknown, resp: &onion.Response{Status: 200, Body: []byte(`[{"code":200,"body":{"capabilities":[]}},{"code":200,"body":{"token":"lobby"}},{"code":200,"body":[]}]`)}}
	if _, err := newClient(st).Poll(ctx, community.PollRequest{Rooms: []community.RoomCursor{{Token: "lobby"}}}); err != nil || len(st.reqs) != 2 {
		t.Fatalf("poll: %v after %d requests", err, len(st.reqs))
	}

	for name, call := range map[string]func(*community.Client) error{
		"post":   func(c *community.Client) error { _, err := c.Post(ctx, "lobby", []byte("x"), nil); return err },
		"delete": func(c *community.Client) error { return c.Delete(ctx, "lobby", 1) },
		"batch with a write": func(c *community.Client) error {
			_, err := c.Batch(ctx, []community.SubRequest{{Method: "GET", Path: "/capabilities"}, {Method: "PUT", Path: "/room/lobby/reaction/1/x", JSON: map[string]any{}}})
			return err
		},
	} {
		st := &scriptTransport{n: 1, err: unknown, resp: &onion.Response{Status: 200, Body: []byte(`{}`)}}
		if err := call(newClient(st)); !errors.Is(err, onion.ErrRequestOutcomeUnknown) || len(st.reqs) != 1 {
			t.Errorf("%s: %v after %d requests", name, err, len(st.reqs))
		}
	}
}

// The same end to end: a devnet community server that drops every request arriving on a
// kept-alive connection, as pysogs under uWSGI does, reached directly.
func TestDirectAgainstDroppedKeepAlive(t *testing.T) {
	s, err := sogsd.Start(context.Background(), sogsd.WithDroppedKeepAlive())
	must(t, err)
	t.Cleanup(func() { _ = s.Close() })
	must(t, s.CreateRoom(sogsd.RoomConfig{Token: "lobby", Name: "Lobby"}))
	srv, err := onion.NewServer(s.URL(), s.PublicKey())
	must(t, err)
	keys := newKeys(t)
	c, err := community.New(community.Config{Keys: keys, Server: srv, Transport: &onion.DirectServerTransport{}})
	must(t, err)
	ctx := ctxT(t)
	for i := 0; i < 3; i++ {
		if _, err := c.Room(ctx, "lobby"); err != nil {
			t.Fatal(err)
		}
		m, err := c.Post(ctx, "lobby", []byte(fmt.Sprint("post ", i)), nil)
		if err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
		must(t, c.Edit(ctx, "lobby", m.ID, []byte("edited"), nil))
		if _, _, err := c.React(ctx, "lobby", m.ID, "👍"); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := s.Messages("lobby")
	if err != nil || len(msgs) != 3 {
		t.Fatalf("the server holds %d posts (want 3, each once): %v", len(msgs), err)
	}
}
