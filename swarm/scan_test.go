package swarm

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// The one-pass readers of node replies (jsonscan) and encoding/json read what the fast way
// takes alike; anything else goes to encoding/json.

func checkScanAgrees(t *testing.T, b []byte) (taken []string) {
	t.Helper()
	if msgs, more, tt, ok := scanRetrieve(b); ok {
		taken = append(taken, "retrieve")
		wm, wmore, wt, err := readRetrieveJSON(b)
		if err != nil {
			t.Fatalf("%q: retrieve read by the fast way, refused by encoding/json: %v", b, err)
		}
		if more != wmore || !bytes.Equal(tt, wt) || (tt == nil) != (wt == nil) || len(msgs) != len(wm) {
			t.Fatalf("%q: retrieve: fast %v %q %d messages, encoding/json %v %q %d", b, more, tt, len(msgs), wmore, wt, len(wm))
		}
		for i, m := range msgs {
			w := wm[i]
			if !bytes.Equal(m.hash, w.hash) || !bytes.Equal(m.data, w.data) || !bytes.Equal(m.timestamp, w.timestamp) ||
				!bytes.Equal(m.expiration, w.expiration) || (m.timestamp == nil) != (w.timestamp == nil) ||
				(m.expiration == nil) != (w.expiration == nil) {
				t.Fatalf("%q: retrieve message %d: fast %+v, encoding/json %+v", b, i, m, w)
			}
		}
	}
	if res, ok := scanSwarmResult(b); ok {
		taken = append(taken, "swarm")
		want, err := readSwarmResultJSON(b)
		if err != nil {
			t.Fatalf("%q: swarm result read by the fast way, refused by encoding/json: %v", b, err)
		}
		if !reflect.DeepEqual(res, want) {
			t.Fatalf("%q: swarm result: fast %+v, encoding/json %+v", b, res, want)
		}
	}
	if subs, ok := scanBatch(b); ok {
		taken = append(taken, "batch")
		want, werr := readBatchJSON(b)
		if werr != nil || len(subs) != len(want) {
			t.Fatalf("%q: batch: fast %d results, encoding/json %d (%v)", b, len(subs), len(want), werr)
		}
		for i := range subs {
			if !bytes.Equal(subs[i].Code, want[i].Code) || !bytes.Equal(subs[i].Body, want[i].Body) ||
				(subs[i].Body == nil) != (want[i].Body == nil) || (subs[i].Code == nil) != (want[i].Code == nil) {
				t.Fatalf("%q: batch result %d: fast %q %q, encoding/json %q %q", b, i, subs[i].Code, subs[i].Body, want[i].Code, want[i].Body)
			}
		}
	}
	if top, results, ok := scanReply(b); ok {
		taken = append(taken, "reply")
		wtop, wres, wok := readReplyJSON(b)
		if !wok || !bytes.Equal(top, wtop) || (top == nil) != (wtop == nil) || len(results) != len(wres) {
			t.Fatalf("%q: reply: fast %q %d results, encoding/json %v %q %d", b, top, len(results), wok, wtop, len(wres))
		}
		for i := range results {
			r, w := results[i], wres[i]
			if !bytes.Equal(r.Code, w.Code) || !bytes.Equal(r.Body, w.Body) || !bytes.Equal(r.t, w.t) || (r.t == nil) != (w.t == nil) {
				t.Fatalf("%q: reply result %d: fast %q %q %q, encoding/json %q %q %q", b, i, r.Code, r.Body, r.t, w.Code, w.Body, w.t)
			}
		}
	}
	return taken
}

// readBatchJSON is ParseBatch's encoding/json reading.
func readBatchJSON(b []byte) ([]rawSubResult, error) {
	var j struct {
		Results []rawSubResult `json:"results"`
	}
	err := json.Unmarshal(b, &j)
	return j.Results, err
}

var scanSeeds = []string{
	`{"hash":"` + hashA + `","hf":[19,4],"swarm":{"ab":{"expiry":1797510592829,"hash":"` + hashA + `","signature":"AAAA"},"cd":{"failed":true,"code":"500","reason":"x","already":1,"t":5}},"t":1796300992831}`,
	`{"results":[{"body":{"hf":[19,4],"messages":[{"data":"YQ==","expiration":1797510593488,"hash":"` + hashA + `","timestamp":1796300993488}],"more":false,"t":1796300993493},"code":200},{"body":"wrong swarm","code":421}]}`,
	`{"messages":[],"more":0,"t":"1"}`,
	`{"swarm":{"a":{"deleted":["x"],"signature":"AAAA"}},"t":1}`,
	`{"swarm":{"a":{"Hash":"x"},"a":{}}}`,
	`{"results":[null,{"code":200}],"T":1}`,
	`{"t":1,"results":[{"code":200,"body":{"t":2,"T":3}}]}`,
	`{"messages":[{"hash":null}]}`,
}

func TestScanAgreesWithJSON(t *testing.T) {
	for _, s := range scanSeeds {
		checkScanAgrees(t, []byte(s))
	}
	// Every reply of the real storage server: the fast way takes the store, retrieve and batch
	// replies, and agrees with encoding/json on everything it takes.
	realExchange(t, 1)
	took := map[string]bool{}
	for _, l := range realLines {
		for _, k := range checkScanAgrees(t, l.realBody()) {
			took[k] = true
		}
	}
	for _, k := range []string{"retrieve", "swarm", "batch", "reply"} {
		if !took[k] {
			t.Errorf("the fast way took no real %s reply", k)
		}
	}
	// The usual replies of each kind take it.
	for s, want := range map[string][]string{
		scanSeeds[0]: {"swarm", "reply"},
		scanSeeds[1]: {"batch", "reply"},
		scanSeeds[2]: {"retrieve", "reply"},
	} {
		if got := checkScanAgrees(t, []byte(s)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: fast way taken by %v, want %v", s, got, want)
		}
	}
}

func FuzzScanAgreesWithJSON(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkScanAgrees(t, b) })
}
