package main

import (
	"context"
	"testing"
)

func TestEchobotOnDevnet(t *testing.T) {
	if err := runDevnet(context.Background(), false); err != nil {
		t.Fatal(err)
	}
}
