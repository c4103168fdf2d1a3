package community_test

import (
	"testing"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/devnet/sogsd"
)

// BenchmarkCommunityPoll is one poll of 5 rooms with 100 new messages each, through 3-hop onion
// paths of a devnet: one signed /batch, decoded, with every post's signature verified.
func BenchmarkCommunityPoll(b *testing.B) {
	s := server(b, sogsd.WithPostRateLimit(0, 0))
	tokens, err := s.Populate(5, 100, newKeys(b))
	must(b, err)
	c := user(b, s, nil, nil)
	req := community.PollRequest{DMs: true}
	for _, tok := range tokens {
		req.Rooms = append(req.Rooms, community.RoomCursor{Token: tok})
	}
	ctx := ctxT(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := c.Poll(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.StopTimer()
			for _, rp := range res.Rooms {
				if rp.Err != nil || len(rp.Messages) != 100 || len(rp.Skipped) != 0 {
					b.Fatalf("room %s: %d messages, %v", rp.Token, len(rp.Messages), rp.Err)
				}
			}
			b.StartTimer()
		}
	}
}
