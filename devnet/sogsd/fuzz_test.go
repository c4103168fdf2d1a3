package sogsd

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/internal/v4srv"
)

// fuzzServer is a server (not listening) with a room, a moderator, messages, a reaction, a file
// and a DM, so that fuzzed requests reach deep into the handlers.
func fuzzServer(t testing.TB) (*Server, crypto.AccountID, crypto.AccountID) {
	s, err := newServer(WithPostRateLimit(0, 0), WithMaxUpload(1024))
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := crypto.KeysFromSeed(make([]byte, 32))
	user, _ := s.BlindedID(keys)
	modKeys, _ := crypto.KeysFromSeed(append([]byte{1}, make([]byte, 31)...))
	mod, _ := s.BlindedID(modKeys)
	ro := ReadOnly()
	for _, tok := range []string{"r", "ro"} {
		rc := RoomConfig{Token: tok}
		if tok == "ro" {
			rc.Defaults = &ro
		}
		if err := s.CreateRoom(rc); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.AddModerator("r", mod, true, false)
	m, _ := s.PostAs("r", keys, Pad([]byte("hello")))
	_, _ = s.React("r", m.ID, user, "👍")
	s.SendDM(mod, user, []byte("dm"))
	return s, user, mod
}

func FuzzRoute(f *testing.F) {
	seeds := []struct{ method, endpoint, body string }{
		{"GET", "/capabilities?required=sogs,x", ""},
		{"GET", "/room/r/messages/since/0?t=r&reactors=30&limit=-4", ""},
		{"GET", "/room/r/messages/before/2?limit=300", ""},
		{"POST", "/room/r/message", `{"data":"aGk=","signature":"` + b64(make([]byte, 64)) + `","files":[1,2],"whisper_to":"15aa"}`},
		{"PUT", "/room/r/message/1", `{"data":"aGk=","signature":"` + b64(make([]byte, 64)) + `"}`},
		{"PUT", "/room/r/reaction/1/👍", `{}`},
		{"DELETE", "/room/r/reactions/1", ""},
		{"POST", "/room/r/pin/1", `{}`},
		{"POST", "/room/r/unpin/all", `{}`},
		{"PUT", "/room/r", `{"name":"x","image":1,"default_read":false}`},
		{"POST", "/room/r/file", "bytes"},
		{"POST", "/room/r/permissions/15aa", `{"read":true,"default_write":true}`},
		{"POST", "/user/15aa/ban", `{"rooms":["*"],"timeout":1e300}`},
		{"POST", "/user/15aa/moderator", `{"global":true,"admin":true}`},
		{"DELETE", "/rooms/all/15aa", ""},
		{"POST", "/batch", `[{"method":"GET","path":"/capabilities"},{"method":"POST","path":"/room/r/message","json":{"data":"eA=="}}]`},
		{"POST", "/sequence", `[{"method":"POST","path":"/room/r/file","b64":"eA=="}]`},
		{"POST", "/inbox/15aa", `{"message":"eA=="}`},
		{"GET", "/inbox/since/0?limit=0", ""},
		{"DELETE", "/inbox", ""},
	}
	for _, sd := range seeds {
		f.Add(sd.method, sd.endpoint, []byte(sd.body), true, false)
	}
	f.Fuzz(func(t *testing.T, method, endpoint string, body []byte, authed, asMod bool) {
		s, user, mod := fuzzServer(t)
		req, err := v4srv.NewRequest(method, endpoint, http.Header{"Content-Type": {"application/json"}}, body)
		if err != nil {
			return
		}
		c := &call{r: req, now: s.Now()}
		if authed {
			c.user = &user
			if asMod {
				c.user = &mod
			}
		}
		// No panic guard here: a panic fails the fuzz target.
		for i := 0; i < 2; i++ {
			resp := s.route(context.Background(), c)
			if resp == nil || resp.Status < 200 || resp.Status > 599 {
				t.Fatalf("bad response %+v", resp)
			}
			if resp.Header.Get("Content-Type") == "application/json" && !json.Valid(resp.Body) {
				t.Fatalf("invalid JSON reply: %q", resp.Body)
			}
		}
	})
}

// FuzzHandle drives the whole entry point, X-SOGS-* header parsing included.
func FuzzHandle(f *testing.F) {
	f.Add("GET", "/room/r", "15"+string(make([]byte, 64)), "AAAAAAAAAAAAAAAAAAAAAA==", "1700000000", b64(make([]byte, 64)), []byte(nil))
	f.Add("POST", "/batch", "", "", "", "", []byte(`[{"method":"GET","path":"/rooms"}]`))
	f.Fuzz(func(t *testing.T, method, endpoint, pk, nonce, ts, sig string, body []byte) {
		s, _, _ := fuzzServer(t)
		h := http.Header{}
		for k, v := range map[string]string{"X-SOGS-Pubkey": pk, "X-SOGS-Nonce": nonce, "X-SOGS-Timestamp": ts, "X-SOGS-Signature": sig} {
			if v != "" {
				h.Set(k, v)
			}
		}
		req, err := v4srv.NewRequest(method, endpoint, h, body)
		if err != nil {
			return
		}
		if resp := s.handle(context.Background(), req); resp == nil || resp.Status < 200 || resp.Status > 599 {
			t.Fatalf("bad response %+v", resp)
		}
		_, _ = v4srv.New(s.Config(s.maxBody(), nil), s.handle).HandleOnion(context.Background(), body)
	})
}
