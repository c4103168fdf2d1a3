package sogsd

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Posts, reactions, polls and DMs from several users at once (run with -race).
func TestConcurrentUsers(t *testing.T) {
	s := startServer(t, WithPostRateLimit(0, 0))
	mustOK(t, s.CreateRoom(RoomConfig{Token: "r"}))
	const users, posts = 6, 15
	clients := make([]*tclient, users)
	for i := range clients {
		clients[i] = newUser(t, s, nil)
		clients[i].ok(200, "GET", "/capabilities", nil, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, users)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := clients[(i+1)%users]
			for j := 0; j < posts; j++ {
				var m msgRow
				if st, body := c.do("POST", "/room/r/message", c.postBody(Pad([]byte(fmt.Sprint(i, j))))); st != 201 {
					errs <- fmt.Errorf("post: %d %s", st, body)
					return
				} else if err := jsonUnmarshal(body, &m); err != nil {
					errs <- err
					return
				}
				if st, _ := c.do("PUT", fmt.Sprintf("/room/r/reaction/%d/👍", m.ID), map[string]any{}); st != 200 {
					errs <- fmt.Errorf("react: %d", st)
					return
				}
				if st, _ := c.do("GET", "/room/r/messages/since/0?t=r", nil); st != 200 {
					errs <- fmt.Errorf("poll: %d", st)
					return
				}
				if st, _ := c.do("POST", "/inbox/"+next.id.String(), map[string]any{"message": b64([]byte("hi"))}); st != 201 {
					errs <- fmt.Errorf("dm: %d", st)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	msgs, _ := s.Messages("r")
	if len(msgs) != users*posts {
		t.Fatalf("%d messages", len(msgs))
	}
	seen := map[int64]bool{}
	for _, m := range msgs {
		if seen[m.Seqno] || len(m.Reactions["👍"]) != 1 {
			t.Fatalf("message %+v", m)
		}
		seen[m.Seqno] = true
	}
	for _, c := range clients {
		if n := len(s.Inbox(c.id)); n != posts {
			t.Fatalf("inbox of %s: %d", c.id, n)
		}
	}
}

// Close stops the listener and every connection goroutine.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := Start(context.Background())
	mustOK(t, err)
	mustOK(t, s.CreateRoom(RoomConfig{Token: "r"}))
	c := newUser(t, s, nil)
	for i := 0; i < 5; i++ {
		c.ok(200, "GET", "/room/r", nil, nil)
	}
	c.hc.CloseIdleConnections()
	mustOK(t, s.Close())
	mustOK(t, s.Close()) // twice is fine
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
