package main

import (
	"context"
	"testing"
)

func TestDisappearbotOnDevnet(t *testing.T) {
	if err := runDevnet(context.Background()); err != nil {
		t.Fatal(err)
	}
}
