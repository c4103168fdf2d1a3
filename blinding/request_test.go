package blinding

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

var testNow = time.Unix(1700000000, 0)

func testSigner(t testing.TB) (*RequestSigner, *crypto.Keys) {
	k := mustKeys(t, "0123456789abcdef0123456789abcdef")
	kp, err := Blind15KeyPair(k, testServerPK)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewRequestSigner(kp)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return testNow }
	return s, k
}

func testVerifier() *Verifier {
	v := NewVerifier(testServerPK)
	v.Now = func() time.Time { return testNow }
	return v
}

func reasonOf(err error) Reason {
	var re *RequestError
	if errors.As(err, &re) {
		return re.Reason
	}
	return 0
}

func TestSignVerify(t *testing.T) {
	s, k := testSigner(t)
	v := testVerifier()
	for _, tc := range []struct {
		method, path string
		body         []byte
	}{
		{"GET", "/capabilities", nil},
		{"GET", "/room/r/messages/since/5?t=r&reactors=5", nil},
		{"POST", "/room/r/message", []byte(`{"data":"x"}`)},
		{"PUT", "/room/r/reaction/5/🍆", []byte("{}")},
	} {
		h, err := s.Sign(tc.method, tc.path, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		user, err := v.Verify(h, tc.method, tc.path, tc.body)
		if err != nil || user != s.Pubkey() {
			t.Fatalf("%s %s: %s, %v", tc.method, tc.path, user, err)
		}
		// Any change to what is signed is refused (each with a fresh nonce).
		for name, mut := range map[string]func() (string, string, []byte){
			"method": func() (string, string, []byte) { return "DELETE", tc.path, tc.body },
			"path":   func() (string, string, []byte) { return tc.method, tc.path + "x", tc.body },
			"body":   func() (string, string, []byte) { return tc.method, tc.path, append(bytes.Clone(tc.body), 'x') },
		} {
			h, _ := s.Sign(tc.method, tc.path, tc.body)
			m, p, b := mut()
			if _, err := v.Verify(h, m, p, b); reasonOf(err) != ReasonInvalidSignature || !errors.Is(err, ErrRequestAuth) {
				t.Fatalf("%s changed: err = %v", name, err)
			}
		}
	}
	// Unblinded: the server records the 05 Account ID, and refuses it when blinding is required.
	u := NewUnblindedRequestSigner(k, testServerPK)
	if u.Pubkey().Prefix() != crypto.PrefixUnblinded {
		t.Fatalf("unblinded pubkey %s", u.Pubkey())
	}
	h := u.SignWith("GET", "/rooms", nil, [16]byte{1}, testNow)
	if _, err := v.Verify(h, "GET", "/rooms", nil); reasonOf(err) != ReasonBlindingRequired {
		t.Fatalf("unblinded on blinding server: %v", err)
	}
	v.RequireBlinded = false
	h = u.SignWith("GET", "/rooms", nil, [16]byte{2}, testNow)
	if user, err := v.Verify(h, "GET", "/rooms", nil); err != nil || user != k.AccountID() {
		t.Fatalf("unblinded: %s, %v", user, err)
	}
}

func TestEmptyQueryNotSigned(t *testing.T) {
	s, _ := testSigner(t)
	a := s.SignWith("GET", "/rooms?", nil, [16]byte{9}, testNow)
	b := s.SignWith("GET", "/rooms", nil, [16]byte{9}, testNow)
	if a != b {
		t.Fatal("a trailing ? changed the signature")
	}
	u, _ := url.Parse("http://h/room/a%20b/messages?limit=5&x=%2F")
	if got := SignedPath(u); got != "/room/a b/messages?limit=5&x=%2F" {
		t.Fatalf("SignedPath = %q", got)
	}
	u, _ = url.Parse("http://h/rooms?")
	if got := SignedPath(u); got != "/rooms" {
		t.Fatalf("SignedPath = %q", got)
	}
}

func TestVerifyReasons(t *testing.T) {
	s, k := testSigner(t)
	good := func(n byte) Headers { return s.SignWith("GET", "/x", nil, [16]byte{n}, testNow) }
	nonce := byte(100)
	check := func(name string, h Headers, want Reason, status int) {
		t.Helper()
		v := testVerifier()
		_, err := v.Verify(h, "GET", "/x", nil)
		if reasonOf(err) != want {
			t.Errorf("%s: err = %v, want reason %v", name, err, want)
			return
		}
		var re *RequestError
		errors.As(err, &re)
		if re.Status() != status || !errors.Is(err, ErrRequestAuth) || re.Error() == "" {
			t.Errorf("%s: status %d, want %d", name, re.Status(), status)
		}
	}
	if _, err := testVerifier().Verify(Headers{}, "GET", "/x", nil); !errors.Is(err, ErrNoAuth) {
		t.Errorf("no headers: %v", err)
	}
	h := good(1)
	h.Signature = ""
	check("three headers", h, ReasonMissingHeaders, 400)
	h = good(1)
	h.Pubkey, h.Nonce = "", ""
	check("two headers", h, ReasonMissingHeaders, 400)

	bad := func(f func(*Headers)) Headers { nonce++; h := good(nonce); f(&h); return h }
	for _, p := range []crypto.Prefix{crypto.PrefixStandard, crypto.PrefixBlinded25, crypto.PrefixVersionBlinded, crypto.PrefixGroup} {
		check("prefix "+p.String(), bad(func(h *Headers) { h.Pubkey = p.String() + h.Pubkey[2:] }), ReasonBadPubkey, 400)
	}
	for name, key := range smallOrderKeys(t) {
		check("pubkey "+name, bad(func(h *Headers) { h.Pubkey = "15" + hex.EncodeToString(key[:]) }), ReasonBadPubkey, 400)
		check("00 pubkey "+name, bad(func(h *Headers) { h.Pubkey = "00" + hex.EncodeToString(key[:]) }), ReasonBadPubkey, 400)
	}
	check("pubkey short", bad(func(h *Headers) { h.Pubkey = h.Pubkey[:64] }), ReasonBadPubkey, 400)
	check("pubkey junk", bad(func(h *Headers) { h.Pubkey = strings.Repeat("zz", 33) }), ReasonBadPubkey, 400)
	check("nonce 15 bytes", bad(func(h *Headers) { h.Nonce = base64.StdEncoding.EncodeToString(make([]byte, 15)) }), ReasonBadNonce, 400)
	check("nonce 17 bytes", bad(func(h *Headers) { h.Nonce = base64.StdEncoding.EncodeToString(make([]byte, 17)) }), ReasonBadNonce, 400)
	check("nonce too much padding", bad(func(h *Headers) { h.Nonce = strings.TrimRight(h.Nonce, "=") + "===" }), ReasonBadNonce, 400)
	check("nonce junk", bad(func(h *Headers) { h.Nonce = "!!!!!!!!!!!!!!!!!!!!!!==" }), ReasonBadNonce, 400)
	check("sig short", bad(func(h *Headers) { h.Signature = h.Signature[:80] }), ReasonBadSignature, 400)
	check("sig junk", bad(func(h *Headers) { h.Signature = strings.Repeat("*", 88) }), ReasonBadSignature, 400)
	check("timestamp", bad(func(h *Headers) { h.Timestamp = "12.5" }), ReasonBadTimestamp, 400)
	check("timestamp text", bad(func(h *Headers) { h.Timestamp = "soon" }), ReasonBadTimestamp, 400)

	// The clock window: ±86400 s inclusive (pysogs passes 86399, fails 86402).
	at := func(off int64) Headers {
		nonce++
		return s.SignWith("GET", "/x", nil, [16]byte{nonce}, testNow.Add(time.Duration(off)*time.Second))
	}
	for _, off := range []int64{-86400, -86399, 0, 86399, 86400} {
		if _, err := testVerifier().Verify(at(off), "GET", "/x", nil); err != nil {
			t.Errorf("offset %d: %v", off, err)
		}
	}
	for _, off := range []int64{-86402, -86401, 86401, 86402, 1 << 30} {
		check("offset "+strconv.FormatInt(off, 10), at(off), ReasonClockSkew, 425)
	}
	for _, ts := range []string{"-9223372036854775808", "9223372036854775807"} {
		check("timestamp "+ts, bad(func(h *Headers) { h.Timestamp = ts }), ReasonClockSkew, 425)
	}

	// A signature that does not verify.
	check("bad signature", bad(func(h *Headers) {
		sig, _ := base64.StdEncoding.DecodeString(h.Signature)
		sig[40] ^= 1
		h.Signature = base64.StdEncoding.EncodeToString(sig)
	}), ReasonInvalidSignature, 401)
	check("timestamp changed", bad(func(h *Headers) { h.Timestamp = strconv.FormatInt(testNow.Unix()-1, 10) }), ReasonInvalidSignature, 401)
	check("other user's key", bad(func(h *Headers) {
		o, _ := Blind15KeyPair(mustKeys(t, "fedcba9876543210fedcba9876543210"), testServerPK)
		h.Pubkey = o.ID().String()
	}), ReasonInvalidSignature, 401)

	// Banned users are refused before the nonce is used or the signature checked.
	v := testVerifier()
	kp, _ := Blind15KeyPair(k, testServerPK)
	v.Banned = func(u crypto.AccountID) bool { return u == kp.ID() }
	h = good(200)
	if _, err := v.Verify(h, "GET", "/x", nil); reasonOf(err) != ReasonBanned {
		t.Fatalf("banned: %v", err)
	}
	if v.Nonces.Len() != 0 {
		t.Fatal("a banned request used a nonce")
	}
	v.Banned = nil
	if _, err := v.Verify(h, "GET", "/x", nil); err != nil {
		t.Fatalf("after unban: %v", err)
	}
	if _, err := v.Verify(h, "GET", "/x", nil); reasonOf(err) != ReasonNonceReused {
		t.Fatalf("replay: %v", err)
	}
	// The nonce is recorded before the signature is checked, as pysogs does.
	h = good(201)
	forged := h
	forged.Signature = good(202).Signature
	if _, err := v.Verify(forged, "GET", "/x", nil); reasonOf(err) != ReasonInvalidSignature {
		t.Fatalf("forged: %v", err)
	}
	if _, err := v.Verify(h, "GET", "/x", nil); reasonOf(err) != ReasonNonceReused {
		t.Fatalf("after forged: %v", err)
	}
	// Nonces are per user: another user may use the same one.
	o, _ := Blind15KeyPair(mustKeys(t, "fedcba9876543210fedcba9876543210"), testServerPK)
	os, _ := NewRequestSigner(o)
	if _, err := v.Verify(os.SignWith("GET", "/x", nil, [16]byte{201}, testNow), "GET", "/x", nil); err != nil {
		t.Fatalf("other user, same nonce: %v", err)
	}
	if Reason(99).String() == "" || ReasonBanned.String() != "banned" {
		t.Fatal("Reason.String")
	}
}

func TestHeaderEncodings(t *testing.T) {
	s, _ := testSigner(t)
	for i, f := range []func(*Headers, []byte, []byte, []byte){
		func(h *Headers, pk, n, sig []byte) {}, // as signed: hex pubkey, padded base64
		func(h *Headers, pk, n, sig []byte) {
			h.Pubkey = base64.StdEncoding.EncodeToString(pk)
			h.Nonce = hex.EncodeToString(n)
			h.Signature = hex.EncodeToString(sig)
		},
		func(h *Headers, pk, n, sig []byte) {
			h.Nonce = base64.RawStdEncoding.EncodeToString(n)
			h.Signature = base64.RawStdEncoding.EncodeToString(sig)
		},
		func(h *Headers, pk, n, sig []byte) { h.Nonce = base64.RawStdEncoding.EncodeToString(n) + "=" },
		func(h *Headers, pk, n, sig []byte) { h.Pubkey = strings.ToUpper(h.Pubkey) },
	} {
		h := s.SignWith("GET", "/x", nil, [16]byte{byte(i), 0xff, 0xfe}, testNow)
		pk, _ := hex.DecodeString(h.Pubkey)
		n, _ := base64.StdEncoding.DecodeString(h.Nonce)
		sig, _ := base64.StdEncoding.DecodeString(h.Signature)
		f(&h, pk, n, sig)
		if _, err := testVerifier().Verify(h, "GET", "/x", nil); err != nil {
			t.Errorf("encoding %d (%+v): %v", i, h, err)
		}
	}
}

func TestHeadersTransport(t *testing.T) {
	s, _ := testSigner(t)
	h := s.SignWith("GET", "/x", nil, [16]byte{7}, testNow)
	hh := http.Header{}
	h.Set(hh)
	if hh.Get("x-sogs-pubkey") != h.Pubkey || HeadersFromHTTP(hh) != h {
		t.Fatalf("http.Header round trip: %v", hh)
	}
	raw := http.Header{"x-sogs-nonce": {h.Nonce}, "X-SOGS-PUBKEY": {h.Pubkey}, "X-Sogs-Timestamp": {h.Timestamp}, "x-SOGS-signature": {h.Signature}, "Other": {"1"}, "Empty": nil}
	if HeadersFromHTTP(raw) != h {
		t.Fatal("non-canonical http.Header names")
	}
	m := map[string]string{"x-sogs-nonce": h.Nonce, "X-SOGS-PUBKEY": h.Pubkey, "x-sogs-timestamp": h.Timestamp, "X-SOGS-Signature": h.Signature, "Content-Type": "x"}
	if HeadersFromMap(m) != h || HeadersFromMap(h.Map()) != h {
		t.Fatal("map round trip")
	}
}

func TestRequestSignerErrors(t *testing.T) {
	k := mustKeys(t, "0123456789abcdef0123456789abcdef")
	kp25, _ := Blind25KeyPair(k, testServerPK)
	if _, err := NewRequestSigner(kp25); !errors.Is(err, ErrNotBlindedID) {
		t.Fatalf("25 signer: %v", err)
	}
	s, _ := testSigner(t)
	s.Rand = bytes.NewReader(make([]byte, 10))
	if _, err := s.Sign("GET", "/x", nil); err == nil {
		t.Fatal("short rand: no error")
	}
	s.Rand = bytes.NewReader(bytes.Repeat([]byte{3}, 16))
	h, err := s.Sign("GET", "/x", nil)
	if err != nil || h.Nonce != base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 16)) || h.Timestamp != "1700000000" {
		t.Fatalf("injected rand and clock: %+v, %v", h, err)
	}
}

func TestNonceCache(t *testing.T) {
	c := NewNonceCache(time.Hour)
	u := crypto.NewAccountID(crypto.PrefixBlinded15, [32]byte{1})
	t0 := testNow
	if !c.Use(u, [16]byte{1}, t0) || c.Use(u, [16]byte{1}, t0.Add(59*time.Minute)) {
		t.Fatal("reuse within retention accepted")
	}
	for i := 0; i < 3000; i++ {
		c.Use(u, [16]byte{2, byte(i), byte(i >> 8)}, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if c.Len() != 3001 {
		t.Fatalf("Len = %d", c.Len())
	}
	// Everything is forgotten after the retention time.
	if !c.Use(u, [16]byte{1}, t0.Add(2*time.Hour)) || c.Len() != 1 {
		t.Fatalf("after retention: Len = %d", c.Len())
	}
	if NewNonceCache(0).retain != 2*DefaultWindow {
		t.Fatal("default retention")
	}
	// Concurrent use: exactly one of many racing users of one nonce wins.
	c = NewNonceCache(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if c.Use(u, [16]byte{byte(j)}, t0) {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if wins != 100 {
		t.Fatalf("wins = %d, want 100", wins)
	}
}

func TestVerifierConcurrent(t *testing.T) {
	s, _ := testSigner(t)
	v := testVerifier()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 8; j++ {
				h, err := s.Sign("GET", "/x", nil)
				if err == nil {
					_, err = v.Verify(h, "GET", "/x", nil)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// FuzzVerify: arbitrary header values never panic and fail only with the documented errors;
// only a genuine signature passes.
func FuzzVerify(f *testing.F) {
	s, _ := testSigner(f)
	h := s.SignWith("POST", "/room/r/message", []byte("body"), [16]byte{1}, testNow)
	f.Add(h.Pubkey, h.Nonce, h.Timestamp, h.Signature, "POST", "/room/r/message", []byte("body"))
	f.Add("", "", "", "", "GET", "/", []byte(nil))
	f.Add("00"+strings.Repeat("00", 32), hex.EncodeToString(make([]byte, 16)), "1700000000", strings.Repeat("A", 86)+"==", "GET", "/x?", []byte{})
	f.Fuzz(func(t *testing.T, pk, nonce, ts, sig, method, path string, body []byte) {
		v := testVerifier()
		v.RequireBlinded = false
		hdr := Headers{pk, nonce, ts, sig}
		user, err := v.Verify(hdr, method, path, body)
		if err != nil {
			if !user.IsZero() || !(errors.Is(err, ErrNoAuth) || errors.Is(err, ErrRequestAuth)) {
				t.Fatalf("%v, %v", user, err)
			}
			var re *RequestError
			if errors.As(err, &re) && (re.Status() < 400 || re.Status() > 499) {
				t.Fatalf("status %d", re.Status())
			}
			return
		}
		if hdr != h || method != "POST" || strings.TrimSuffix(path, "?") != "/room/r/message" || string(body) != "body" {
			// Another encoding of the same header values is fine; anything else is a forgery.
			if !bytes.Equal(body, []byte("body")) || method != "POST" {
				t.Fatalf("accepted a request that was never signed: %+v %s %s %q", hdr, method, path, body)
			}
		}
	})
}
