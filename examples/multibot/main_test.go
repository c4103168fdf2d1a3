package main

import (
	"context"
	"testing"
)

func TestMultibot(t *testing.T) {
	if err := run(context.Background(), 50, ""); err != nil {
		t.Fatal(err)
	}
}
