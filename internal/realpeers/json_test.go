package realpeers

import (
	"encoding/json"
	"testing"
)

// A storage node's reply is recorded as its JSON, or as a JSON string of its text.
func TestStorageLineBody(t *testing.T) {
	text := StorageLine{Body: json.RawMessage(`"Invalid request"`)}
	if s, ok := text.Text(); !ok || s != "Invalid request" || string(text.ReplyBytes()) != "Invalid request" {
		t.Fatalf("text body: %q %v, reply %q", s, ok, text.ReplyBytes())
	}
	obj := StorageLine{Body: json.RawMessage(`{"t":1}`)}
	if _, ok := obj.Text(); ok || string(obj.ReplyBytes()) != `{"t":1}` {
		t.Fatalf("JSON body read as text %v, reply %q", ok, obj.ReplyBytes())
	}
}

func TestGet(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(`{"a":[{"b":"x"},2],"c":null}`), &v); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"a", 0, "b"}, "x"},
		{[]any{"a", 1}, float64(2)},
		{[]any{"a", 2}, nil},
		{[]any{"a", -1}, nil},
		{[]any{"c", "d"}, nil},
		{[]any{"a", "b"}, nil},
		{[]any{0}, nil},
	} {
		if got := Get(v, c.path...); got != c.want {
			t.Errorf("Get(%v) = %v, want %v", c.path, got, c.want)
		}
	}
}
