package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The offline demo: three members serve 30 echo bots; one leaves and every bot still answers.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := demo(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"30 bots served by 3 members", "all 30 bots answered\n", "member-b left", "all 30 bots answered again"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log(out.String())
}
