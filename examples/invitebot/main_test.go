package main

import (
	"context"
	"testing"
)

func TestInvitebotOnDevnet(t *testing.T) {
	if err := runDevnet(context.Background()); err != nil {
		t.Fatal(err)
	}
}
