package sdk_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/sessiongo/sdk/session"
)

// What independent clients store passes session.CheckContent: the SDK's outgoing field rules
// refuse nothing that real clients send.
func TestRealClientsPassCheckContent(t *testing.T) {
	for _, file := range []string{"testdata/real/clients/sessionjs.json", "testdata/real/clients/session-python.json"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cc clientCorpus
		if err := json.Unmarshal(raw, &cc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		recipient := corpusClient(t, cc.RecipientSeed)
		n := 0
		for _, c := range cc.Cases {
			if c.StoredData == nil {
				continue // stored only in the sender's own swarm (configs)
			}
			in, err := session.DecodeMessage(recipient.Keys(), *c.StoredData)
			if err != nil {
				t.Errorf("%s: %s: %v", file, c.What, err)
				continue
			}
			if err := session.CheckContent(in.Content); err != nil {
				t.Errorf("%s: %s: CheckContent refuses it: %v", file, c.What, err)
			}
			n++
		}
		if n == 0 {
			t.Fatalf("%s: no case checked", file)
		}
	}
}
