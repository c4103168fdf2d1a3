package sogsd

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/internal/v4srv/v4srvtest"
	"github.com/sessiongo/sdk/onion"
)

// pollBody is the recommended poll of spec section 4: capabilities, then pollInfo and
// messages/since for each room, then the inbox and outbox.
func pollBody(tokens []string) []map[string]any {
	subs := []map[string]any{{"method": "GET", "path": "/capabilities"}}
	for _, tok := range tokens {
		subs = append(subs,
			map[string]any{"method": "GET", "path": "/room/" + tok + "/pollInfo/0"},
			map[string]any{"method": "GET", "path": "/room/" + tok + "/messages/since/0?t=r&reactors=5"})
	}
	return append(subs,
		map[string]any{"method": "GET", "path": "/inbox/since/0"},
		map[string]any{"method": "GET", "path": "/outbox/since/0"})
}

func checkPoll(b *testing.B, body []byte, rooms, perRoom int) {
	var out []subResp
	if err := json.Unmarshal(body, &out); err != nil || len(out) != 3+2*rooms {
		b.Fatalf("poll reply: %v", err)
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(out[2].Body, &rows); err != nil || len(rows) != perRoom {
		b.Fatalf("rows: %d %v", len(rows), err)
	}
}

func pollFixture(b *testing.B) (*Server, []string, *tclient) {
	s := startServer(b, WithPostRateLimit(0, 0))
	author, _ := crypto.GenerateKeys(nil)
	tokens, err := s.Populate(5, 100, author)
	if err != nil {
		b.Fatal(err)
	}
	return s, tokens, newUser(b, s, nil)
}

// BenchmarkPoll5x100 is one signed poll batch of 5 rooms with 100 new messages each, over
// direct HTTP: the server side of BenchmarkCommunityPoll.
func BenchmarkPoll5x100(b *testing.B) {
	_, tokens, u := pollFixture(b)
	subs := pollBody(tokens)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, body := u.do("POST", "/batch", subs)
		if st != 200 {
			b.Fatalf("status %d", st)
		}
		if i == 0 {
			checkPoll(b, body, 5, 100)
		}
	}
}

// BenchmarkPoll5x100Onion is the same poll through a 3-hop onion path of a devnet (HTTPS).
func BenchmarkPoll5x100Onion(b *testing.B) {
	nw := v4srvtest.Network(b, 8)
	s := startServer(b, WithNetwork(nw), WithPostRateLimit(0, 0))
	author, _ := crypto.GenerateKeys(nil)
	tokens, err := s.Populate(5, 100, author)
	if err != nil {
		b.Fatal(err)
	}
	u := newUser(b, s, nil)
	tr := v4srvtest.Transport(b, nw, onion.XChaCha20)
	raw, _ := json.Marshal(pollBody(tokens))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h, err := u.signer.Sign("POST", "/batch", raw)
		if err != nil {
			b.Fatal(err)
		}
		hdr := h.Map()
		hdr["Content-Type"] = "application/json"
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		resp, err := tr.Do(ctx, s.OnionServer(), &onion.ServerRequest{Method: "POST", Endpoint: "/batch", Headers: hdr, Body: raw})
		cancel()
		if err != nil || resp.Status != 200 {
			b.Fatal(fmt.Sprint(err, resp))
		}
		if i == 0 {
			checkPoll(b, resp.Body, 5, 100)
		}
	}
}
