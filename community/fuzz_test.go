package community_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/community"
)

const fuzzRow = `{"id":1,"session_id":"15` + "aa" + `","posted":1700000000.5,"seqno":3,"data":"AAAA","signature":"` +
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==" + `","reactions":{"👍":{"index":0,"count":1,"reactors":["x"]}}}`

// Every decoder of server replies: no panic, and either a result or a typed error.
func FuzzParseMessages(f *testing.F) {
	f.Add([]byte(`[` + fuzzRow + `,{"id":2,"seqno":4,"reactions":{}},{"id":3,"seqno":5,"data":null,"deleted":true}]`))
	f.Add([]byte(`[{"id":1e400},{"data":"x"},null,1,"s",[]]`))
	f.Add([]byte(`[{"id":1,"session_id":"` + "15" + strings.Repeat("00", 32) + `","data":"gA==","signature":"` + strings.Repeat("A", 86) + `=="}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, skipped, err := community.ParseMessages(body)
		if err != nil {
			if !errors.Is(err, community.ErrMalformedReply) || msgs != nil {
				t.Fatalf("%v", err)
			}
			return
		}
		for _, s := range skipped {
			if !errors.Is(s.Err, community.ErrMalformedReply) && !errors.Is(s.Err, community.ErrInvalidSignature) {
				t.Fatalf("skipped: %v", s.Err)
			}
		}
		for _, m := range msgs {
			if m.Data != nil && !community.VerifyPost(m.Author, m.Data, m.Signature) {
				t.Fatal("unverified message returned")
			}
			_ = m.Content()
		}
	})
}

func FuzzParseDMs(f *testing.F) {
	f.Add([]byte(`[{"id":1,"posted_at":1.5,"expires_at":2.5,"sender":"15` + strings.Repeat("ab", 32) + `","recipient":"15` + strings.Repeat("cd", 32) + `","message":"AAEC"}]`))
	f.Add([]byte(``))
	f.Add([]byte(`[{"id":null},{}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, skipped, err := community.ParseDMs(body)
		if err != nil && !errors.Is(err, community.ErrMalformedReply) {
			t.Fatal(err)
		}
		for _, s := range skipped {
			if !errors.Is(s.Err, community.ErrMalformedReply) {
				t.Fatal(s.Err)
			}
		}
	})
}

func FuzzParseRoomInfo(f *testing.F) {
	f.Add([]byte(`{"token":"lobby","name":"L","info_updates":3,"moderators":["05` + strings.Repeat("ab", 32) + `"],"pinned_messages":[{"id":1,"pinned_at":5,"pinned_by":""}],"active_users_cutoff":604800}`))
	f.Add([]byte(`{"token":"lobby","active_users":1,"read":true,"details":{"token":"lobby"}}`))
	f.Add([]byte(`{"token":"lobby","moderators":[1]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if r, err := community.ParseRoomInfo(body); err != nil && !errors.Is(err, community.ErrMalformedReply) || err == nil && !community.ValidRoomToken(r.Token) {
			t.Fatal(err)
		}
		if p, err := community.ParsePollInfo(body); err != nil && !errors.Is(err, community.ErrMalformedReply) || err == nil && !community.ValidRoomToken(p.Token) {
			t.Fatal(err)
		}
	})
}

func FuzzParseSubResponses(f *testing.F) {
	f.Add([]byte(`[{"code":200,"headers":{"content-type":"application/json"},"body":{"a":1}},{"code":200,"headers":{"content-type":"application/octet-stream"},"body":"AAEC"},{"code":304,"body":null}]`))
	f.Add([]byte(`[{"code":"x"},{}]`))
	f.Add([]byte(`[{"code":200,"headers":{"Content-Type":"image/png; x"},"body":5}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := community.ParseSubResponses(body)
		if err != nil {
			if !errors.Is(err, community.ErrMalformedReply) {
				t.Fatal(err)
			}
			return
		}
		for _, r := range out {
			if _, err := r.Bytes(); err != nil && !errors.Is(err, community.ErrMalformedReply) {
				t.Fatal(err)
			}
			_ = r.Err(community.SubRequest{Method: "GET", Path: "/"})
		}
	})
}

func FuzzParseURL(f *testing.F) {
	f.Add("https://open.getsession.org/session?public_key=" + strings.Repeat("ab", 32))
	f.Add("http://[::1]:80/r?public_key=")
	f.Add("https://h/%zz?public_key=1")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := community.ParseURL(s)
		if err != nil {
			if !errors.Is(err, community.ErrBadURL) {
				t.Fatal(err)
			}
			return
		}
		again, err := community.ParseURL(u.String())
		if err != nil || again != u {
			t.Fatalf("%q → %q: %v", s, u.String(), err)
		}
	})
}
