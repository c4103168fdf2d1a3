package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), nil, &out, &errb); code != 2 || !strings.Contains(out.String(), "devnet") {
		t.Fatalf("no args: %d %q", code, out.String())
	}
	if code := run(context.Background(), []string{"bogus"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errb.String())
	}
	if code := run(context.Background(), []string{"devnet", "-nodes"}, &out, &errb); code != 2 {
		t.Fatalf("bad flag: %d", code)
	}
	if code := run(context.Background(), []string{"devnet", "-h"}, &out, &errb); code != 0 {
		t.Fatalf("-h: %d", code)
	}
}

func TestDevnetCommand(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := newPipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"devnet", "-nodes", "4", "-seed", "9", "-json", "-ca-out", ca,
			"-name", "alice=05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"}, pw, os.Stderr)
	}()
	var info devnetInfo
	if err := json.NewDecoder(pr).Decode(&info); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	if len(info.Nodes) != 4 || len(info.Swarms) != 1 || !strings.HasPrefix(info.SeedURL, "https://127.0.0.1:") || info.CACert != ca {
		t.Fatalf("info %+v", info)
	}
	// The printed CA lets a client talk to the seed with verified TLS.
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	hc := clientTrusting(t, pem)
	resp, err := hc.Post(info.SeedURL+"/json_rpc", "application/json",
		strings.NewReader(`{"jsonrpc":"2.0","method":"get_n_service_nodes","params":{"active_only":true,"fields":{"public_ip":true,"storage_port":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hc.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("seed: %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("devnet did not stop on cancel")
	}
}

func TestDevnetText(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"devnet", "-nodes", "2", "-for", "10ms"}, &out, os.Stderr); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"seed:", "/json_rpc", "trust:", "curl --cacert", "devnet stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}
