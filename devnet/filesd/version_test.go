package filesd

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
)

func TestSessionVersion(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := start(t, WithClock(clk.now), WithVersions(map[string]string{"desktop": "v1.15.2"}))
	hc := &http.Client{}

	st, body := do(t, hc, "GET", s.URL()+"/session_version?platform=desktop", nil, nil)
	var v struct {
		StatusCode int     `json:"status_code"`
		Updated    float64 `json:"updated"`
		Result     string  `json:"result"`
	}
	if st != 200 || json.Unmarshal(body, &v) != nil || v.Result != "v1.15.2" || v.StatusCode != 200 || v.Updated != 1_700_000_000 {
		t.Fatalf("anonymous: %d %s", st, body)
	}
	if st, _ := do(t, hc, "GET", s.URL()+"/session_version?platform=ios", nil, nil); st != 404 {
		t.Fatalf("unknown platform: %d", st)
	}

	// Signed with the 07 version-blinded key, as clients sign it.
	keys, _ := crypto.GenerateKeys(nil)
	vk := blinding.NewVersionKeyPair(keys)
	sign := func(ts time.Time) map[string]string {
		sig, err := vk.SignVersionCheck(blinding.PlatformDesktop, ts)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{
			HeaderFSPubkey:    vk.ID().String(),
			HeaderFSTimestamp: strconv.FormatInt(ts.Unix(), 10),
			HeaderFSSignature: base64.StdEncoding.EncodeToString(sig[:]),
		}
	}
	url := s.URL() + "/session_version?platform=desktop"
	if st, body := do(t, hc, "GET", url, sign(clk.now()), nil); st != 200 {
		t.Fatalf("signed: %d %s", st, body)
	}
	if st, _ := do(t, hc, "GET", url, sign(clk.now().Add(-25*time.Hour)), nil); st != 425 {
		t.Fatalf("old timestamp: %d", st)
	}
	h := sign(clk.now())
	h[HeaderFSTimestamp] = strconv.FormatInt(clk.now().Unix()+1, 10)
	if st, _ := do(t, hc, "GET", url, h, nil); st != 401 {
		t.Fatalf("timestamp not covered: %d", st)
	}
	h = sign(clk.now())
	h[HeaderFSPubkey] = "05" + h[HeaderFSPubkey][2:]
	if st, _ := do(t, hc, "GET", url, h, nil); st != 400 {
		t.Fatalf("05 key: %d", st)
	}
	h = sign(clk.now())
	delete(h, HeaderFSSignature)
	if st, _ := do(t, hc, "GET", url, h, nil); st != 400 {
		t.Fatalf("missing signature: %d", st)
	}
}
