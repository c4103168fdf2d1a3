package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
)

// TestQuickstart runs the README's main command in-process: it must finish the exchange.
func TestQuickstart(t *testing.T) {
	if err := run(""); err != nil {
		t.Fatal(err)
	}
}

// The same exchange on a running devnet named by a network file.
func TestQuickstartOnNetworkFile(t *testing.T) {
	dn := devnettest.Start(t, devnet.WithNodes(8))
	b, err := json.Marshal(session.NetworkFile{Seeds: []string{dn.SeedURL()}, CACertPEM: string(dn.CACertPEM()), PathDiversity: "nodes"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "devnet.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(path); err != nil {
		t.Fatal(err)
	}
}
