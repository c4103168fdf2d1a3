package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// The devnet demo: the bot answers !ping with a quoted pong and a reaction, and !dm with a
// blinded DM that reveals its real Account ID.
func TestCommunitybotOnDevnet(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := runDevnet(context.Background(), f, false); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`bot → room: "pong" (a reply to the user: true)`,
		"bot reacted 👍 to !ping",
		`bot → user (blinded DM): "Hi! This is a private message through the community inbox.", from the bot's real Account ID: true`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
