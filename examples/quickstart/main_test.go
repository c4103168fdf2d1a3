package main

import "testing"

// TestQuickstart runs the README's main command in-process: it must finish the exchange.
func TestQuickstart(t *testing.T) {
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
