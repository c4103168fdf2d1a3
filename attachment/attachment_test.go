package attachment_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/attachment"
)

var testSeed = [32]byte{1, 2, 3, 4, 5, 6, 7, 8}

func testData(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16)})
	_, _ = r.Read(b)
	return b
}

// recorder fails the test if anything is written to it.
type recorder struct{ n int }

func (r *recorder) Write(p []byte) (int, error) { r.n += len(p); return len(p), nil }

func encryptLegacy(t testing.TB, data []byte, opts *attachment.LegacyOptions) ([]byte, attachment.Pointer) {
	t.Helper()
	var blob bytes.Buffer
	p, err := attachment.EncryptLegacy(&blob, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	return blob.Bytes(), p
}

func encryptDet(t testing.TB, data []byte, d attachment.Domain) ([]byte, attachment.Pointer) {
	t.Helper()
	var blob bytes.Buffer
	p, err := attachment.EncryptDeterministic(&blob, data, testSeed, d)
	if err != nil {
		t.Fatal(err)
	}
	return blob.Bytes(), p
}

func decrypt(blob []byte, p attachment.Pointer) ([]byte, error) {
	var out bytes.Buffer
	n, err := attachment.Decrypt(&out, bytes.NewReader(blob), p)
	if err == nil && n != int64(out.Len()) {
		return nil, fmt.Errorf("reported %d bytes, wrote %d", n, out.Len())
	}
	return out.Bytes(), err
}

var sizes = []int{0, 1, 15, 16, 17, 540, 541, 542, 4053, 4054, 32767, 32768, 32769, 65535, 65536, 65537, 70000, 200_003, 300_017}

func TestLegacyRoundTrip(t *testing.T) {
	for _, n := range sizes {
		for _, noPad := range []bool{false, true} {
			data := testData(n)
			blob, p := encryptLegacy(t, data, &attachment.LegacyOptions{NoPadding: noPad})
			if p.Key.Scheme() != attachment.Legacy || len(p.Key.Bytes()) != 64 || p.Size != int64(n) {
				t.Fatalf("n=%d: pointer %v size %d", n, p.Key, p.Size)
			}
			want := attachment.EncryptedSize(attachment.Legacy, int64(n))
			if noPad {
				want = int64(16 + (n/16+1)*16 + 32)
			}
			if int64(len(blob)) != want {
				t.Fatalf("n=%d noPad=%v: blob %d bytes, want %d", n, noPad, len(blob), want)
			}
			if sum := sha256.Sum256(blob); !bytes.Equal(sum[:], p.Digest) {
				t.Fatalf("n=%d: digest is not the blob's SHA-256", n)
			}
			got, err := decrypt(blob, p)
			if n == 0 {
				// Size 0 reads as unknown: the padding stays.
				if err != nil || strings.Trim(string(got), "\x00") != "" {
					t.Fatalf("n=0: %v", err)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("n=%d noPad=%v: round trip: %v", n, noPad, err)
			}
			{
				// Unknown size: the padded plaintext comes back.
				q := p
				q.Size = 0
				got, err := decrypt(blob, q)
				if err != nil || !bytes.HasPrefix(got, data) || strings.Trim(string(got[n:]), "\x00") != "" {
					t.Fatalf("n=%d: unknown size: %v", n, err)
				}
			}
		}
	}
}

func TestDeterministicRoundTrip(t *testing.T) {
	for _, n := range append(sizes, 10_218_286) {
		for _, d := range []attachment.Domain{attachment.DomainAttachment, attachment.DomainProfilePicture} {
			data := testData(n)
			blob, p := encryptDet(t, data, d)
			if p.Key.Scheme() != attachment.Deterministic || len(p.Key.Bytes()) != 32 || p.Digest != nil || p.Size != int64(n) {
				t.Fatalf("n=%d: pointer %v", n, p)
			}
			if want := attachment.EncryptedSize(attachment.Deterministic, int64(n)); int64(len(blob)) != want || blob[0] != 'S' {
				t.Fatalf("n=%d: blob %d bytes, want %d", n, len(blob), want)
			}
			again, p2 := encryptDet(t, data, d)
			if !bytes.Equal(again, blob) || !bytes.Equal(p2.Key.Bytes(), p.Key.Bytes()) {
				t.Fatalf("n=%d: not deterministic", n)
			}
			got, err := decrypt(blob, p)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("n=%d: round trip: %v", n, err)
			}
			q := p
			q.Size = 0
			q.Digest = sha256.New().Sum(nil) // wrong digest is checked when present
			if _, err := decrypt(blob, q); !errors.Is(err, attachment.ErrDigestMismatch) {
				t.Fatalf("n=%d: wrong digest: %v", n, err)
			}
			sum := sha256.Sum256(blob)
			q.Digest = sum[:]
			if got, err := decrypt(blob, q); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("n=%d: with digest, no size: %v", n, err)
			}
			if n > 10_000 {
				break // one domain is enough for the big ones
			}
		}
	}
}

func TestDomainsDiffer(t *testing.T) {
	data := testData(100)
	_, a := encryptDet(t, data, attachment.DomainAttachment)
	_, b := encryptDet(t, data, attachment.DomainProfilePicture)
	if bytes.Equal(a.Key.Bytes(), b.Key.Bytes()) {
		t.Fatal("domains give the same key")
	}
	if _, err := attachment.EncryptDeterministic(io.Discard, data, testSeed, 7); !errors.Is(err, attachment.ErrMalformed) {
		t.Fatalf("unknown domain: %v", err)
	}
}

// TestBadBlobs checks the typed errors and that nothing reaches the destination on failure.
func TestBadBlobs(t *testing.T) {
	data := testData(5000)
	lblob, lp := encryptLegacy(t, data, nil)
	ublob, up := encryptLegacy(t, data, &attachment.LegacyOptions{NoPadding: true})
	up.Size = 5005
	dblob, dp := encryptDet(t, testData(100_000), attachment.DomainAttachment)
	bblob, bp := encryptLegacy(t, testData(400_000), nil) // big enough for the parallel path
	wrongBig := bp
	k0 := bp.Key.Bytes()
	k0[63] ^= 1
	wrongBig.Key, _ = attachment.ParseKey(k0)

	wrongLegacy := lp
	k := lp.Key.Bytes()
	k[40] ^= 1 // MAC key half
	wrongLegacy.Key, _ = attachment.ParseKey(k)
	wrongDet := dp
	k = dp.Key.Bytes()
	k[0] ^= 1
	wrongDet.Key, _ = attachment.ParseKey(k)

	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 0x10; return c }
	withDigest := func(p attachment.Pointer, blob []byte) attachment.Pointer {
		s := sha256.Sum256(blob)
		p.Digest = s[:]
		return p
	}
	noSize := func(p attachment.Pointer) attachment.Pointer { p.Size = 0; return p }
	// A legacy blob whose digest matches but whose ciphertext was re-MACed with another key.
	cases := []struct {
		name string
		blob []byte
		p    attachment.Pointer
		want error
	}{
		{"legacy wrong key", lblob, wrongLegacy, attachment.ErrWrongKey},
		{"legacy flipped byte", flip(lblob, 100), lp, attachment.ErrDigestMismatch},
		{"legacy flipped byte, digest of it", flip(lblob, 100), withDigest(lp, flip(lblob, 100)), attachment.ErrWrongKey},
		{"legacy no digest", lblob, attachment.Pointer{Key: lp.Key, Size: lp.Size}, attachment.ErrDigestMismatch},
		{"legacy short digest", lblob, attachment.Pointer{Key: lp.Key, Digest: lp.Digest[:31]}, attachment.ErrMalformed},
		{"legacy truncated", lblob[:2000], withDigest(lp, lblob[:2000]), attachment.ErrTruncated},
		{"legacy truncated, digest mismatch", lblob[:2000], lp, attachment.ErrTruncated},
		{"legacy flipped last byte", flip(lblob, len(lblob)-1), lp, attachment.ErrDigestMismatch},
		{"legacy oversized", append(bytes.Clone(lblob), make([]byte, 64)...), withDigest(lp, append(bytes.Clone(lblob), make([]byte, 64)...)), attachment.ErrTooLarge},
		{"legacy tiny", lblob[:40], withDigest(noSize(lp), lblob[:40]), attachment.ErrTruncated},
		{"legacy ragged", lblob[:len(lblob)-1], withDigest(noSize(lp), lblob[:len(lblob)-1]), attachment.ErrMalformed},
		{"legacy size above content", ublob, up, attachment.ErrMalformed},
		{"legacy size far above content", lblob, attachment.Pointer{Key: lp.Key, Digest: lp.Digest, Size: 6000}, attachment.ErrTruncated},
		{"big legacy wrong key", bblob, wrongBig, attachment.ErrWrongKey},
		{"big legacy flipped byte", flip(bblob, 300_000), bp, attachment.ErrDigestMismatch},
		{"big legacy flipped byte, digest of it", flip(bblob, 300_000), withDigest(bp, flip(bblob, 300_000)), attachment.ErrWrongKey},
		{"det wrong key", dblob, wrongDet, attachment.ErrWrongKey},
		{"det flipped byte in chunk 2", flip(dblob, 40000), dp, attachment.ErrMalformed},
		{"det flipped header", flip(dblob, 3), dp, attachment.ErrWrongKey},
		{"det wrong prefix", flip(dblob, 0), dp, attachment.ErrMalformed},
		{"det truncated at chunk", dblob[:25+32785], dp, attachment.ErrTruncated},
		{"det truncated at chunk, no size", dblob[:25+32785], noSize(dp), attachment.ErrTruncated},
		{"det truncated mid chunk", dblob[:len(dblob)-5], dp, attachment.ErrTruncated},
		{"det truncated mid chunk, no size", dblob[:len(dblob)-5], noSize(dp), attachment.ErrMalformed},
		{"det tiny", dblob[:30], dp, attachment.ErrTruncated},
		{"det oversized", append(bytes.Clone(dblob), 0), dp, attachment.ErrTooLarge},
		{"det trailing chunk", append(bytes.Clone(dblob), make([]byte, 40)...), noSize(dp), attachment.ErrMalformed},
		{"det size mismatch", dblob, attachment.Pointer{Key: dp.Key, Size: 99_999}, attachment.ErrMalformed},
		{"zero key", lblob, attachment.Pointer{Digest: lp.Digest}, attachment.ErrMalformed},
		{"negative size", lblob, attachment.Pointer{Key: lp.Key, Digest: lp.Digest, Size: -1}, attachment.ErrMalformed},
		{"absurd size", lblob, attachment.Pointer{Key: lp.Key, Digest: lp.Digest, Size: 1 << 50}, attachment.ErrTooLarge},
		{"size over the blob limit", lblob, attachment.Pointer{Key: lp.Key, Digest: lp.Digest, Size: 4 << 30}, attachment.ErrTruncated},
	}
	for _, tc := range cases {
		var dst recorder
		_, err := attachment.Decrypt(&dst, bytes.NewReader(tc.blob), tc.p)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if dst.n != 0 {
			t.Errorf("%s: %d bytes written to the destination on failure", tc.name, dst.n)
		}
		var dst2 recorder
		if _, err := attachment.DecryptInPlace(&dst2, bytes.Clone(tc.blob), tc.p); !errors.Is(err, tc.want) || dst2.n != 0 {
			t.Errorf("%s: in place: got %v (%d bytes written)", tc.name, err, dst2.n)
		}
	}
}

func TestSizeError(t *testing.T) {
	data := testData(1000)
	blob, p := encryptLegacy(t, data, nil)
	_, err := decrypt(append(blob, make([]byte, 4096)...), p)
	var se *attachment.SizeError
	if !errors.As(err, &se) || se.Want != int64(len(blob)) || !errors.Is(err, attachment.ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "too large") {
		t.Fatalf("message %q", err)
	}
	// An endless source is cut at the limit.
	_, err = attachment.Decrypt(io.Discard, zeroReader{}, attachment.Pointer{Key: attachment.DeterministicKey([32]byte{})})
	if !errors.As(err, &se) || se.Want != attachment.MaxBlobSize {
		t.Fatalf("endless source: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestIOErrors(t *testing.T) {
	if _, err := attachment.EncryptLegacy(io.Discard, errReader{}, nil); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("read error: %v", err)
	}
	if _, err := attachment.EncryptLegacy(errWriter{}, bytes.NewReader([]byte("x")), nil); err == nil {
		t.Fatal("write error ignored")
	}
	if _, err := attachment.EncryptLegacy(io.Discard, bytes.NewReader(nil), &attachment.LegacyOptions{Rand: bytes.NewReader(make([]byte, 10))}); err == nil {
		t.Fatal("short rand accepted")
	}
	if _, err := attachment.EncryptDeterministic(errWriter{}, []byte("x"), testSeed, attachment.DomainAttachment); err == nil {
		t.Fatal("write error ignored")
	}
	blob, p := encryptLegacy(t, []byte("hello"), nil)
	if _, err := attachment.Decrypt(io.Discard, errReader{}, p); err == nil {
		t.Fatal("read error ignored")
	}
	if _, err := attachment.Decrypt(errWriter{}, bytes.NewReader(blob), p); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("write error: %v", err)
	}
}

func TestKeys(t *testing.T) {
	var k64 [64]byte
	k64[0] = 0xab
	k := attachment.LegacyKey(k64)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%x %v %+v %#v %s", k, k, k, k, k)} {
		if strings.Contains(s, "ab") {
			t.Fatalf("key bytes printed: %s", s)
		}
	}
	if _, err := attachment.ParseKey(make([]byte, 33)); !errors.Is(err, attachment.ErrMalformed) {
		t.Fatal("33-byte key accepted")
	}
	var zero attachment.Key
	if zero.Bytes() != nil || zero.Scheme() != 0 {
		t.Fatal("zero key")
	}
	if attachment.Legacy.String() != "legacy" || attachment.Deterministic.String() != "deterministic" || attachment.Scheme(9).String() != "Scheme(9)" {
		t.Fatal("scheme names")
	}
}

func TestSizes(t *testing.T) {
	if attachment.PaddedSize(-1) != 0 || attachment.EncryptedSize(attachment.Legacy, -1) != 0 ||
		attachment.EncryptedSize(attachment.Deterministic, 1<<62) != 0 || attachment.EncryptedSize(0, 5) != 0 {
		t.Fatal("bad sizes not 0")
	}
	if attachment.PaddedSize(0) != 541 {
		t.Fatal("PaddedSize(0)")
	}
	prev := int64(0)
	for n := int64(1); n < 40_000_000; n = n*3/2 + 1 {
		p := attachment.PaddedSize(n)
		if p < n || p < prev || (n <= 10_000_000 && p > 10_000_000) {
			t.Fatalf("PaddedSize(%d) = %d", n, p)
		}
		prev = p
	}
	if p := attachment.PaddedSize(1 << 62); p < 1<<62 {
		t.Fatalf("huge: %d", p)
	}
}

func TestProfilePicture(t *testing.T) {
	key := [32]byte{9, 9, 9}
	pic := testData(3000)
	blob, err := attachment.EncryptProfilePicture(key, pic, nil)
	if err != nil || len(blob) != 12+3000+16 {
		t.Fatalf("%v, %d bytes", err, len(blob))
	}
	got, err := attachment.DecryptProfilePicture(key, blob)
	if err != nil || !bytes.Equal(got, pic) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := attachment.DecryptProfilePicture([32]byte{1}, blob); !errors.Is(err, attachment.ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := attachment.DecryptProfilePicture(key, blob[:20]); !errors.Is(err, attachment.ErrTruncated) {
		t.Fatalf("short: %v", err)
	}
	// A legacy blob whose IV starts with 'S' still opens.
	iv := append([]byte{'S'}, make([]byte, 11)...)
	sblob, err := attachment.EncryptProfilePicture(key, pic, bytes.NewReader(iv))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := attachment.DecryptProfilePicture(key, sblob); err != nil || !bytes.Equal(got, pic) {
		t.Fatalf("'S' IV: %v", err)
	}
	// Deterministic profile pictures: the pointer's key is the profile key.
	dblob, p := encryptDet(t, pic, attachment.DomainProfilePicture)
	dkey := [32]byte(p.Key.Bytes())
	if got, err := attachment.DecryptProfilePicture(dkey, dblob); err != nil || !bytes.Equal(got, pic) {
		t.Fatalf("deterministic: %v", err)
	}
	if _, err := attachment.DecryptProfilePicture(key, dblob); !errors.Is(err, attachment.ErrWrongKey) {
		t.Fatalf("deterministic, wrong key: %v", err)
	}
}

func FuzzDecrypt(f *testing.F) {
	lblob, lp := encryptLegacy(f, []byte("fuzz me"), nil)
	dblob, dp := encryptDet(f, []byte("fuzz me too"), attachment.DomainAttachment)
	f.Add(lblob, lp.Key.Bytes(), lp.Digest, int64(7))
	f.Add(dblob, dp.Key.Bytes(), []byte(nil), int64(11))
	f.Add(dblob, dp.Key.Bytes(), []byte(nil), int64(0))
	f.Add([]byte("S"), make([]byte, 32), []byte(nil), int64(0))
	f.Fuzz(func(t *testing.T, blob, key, digest []byte, size int64) {
		k, err := attachment.ParseKey(key)
		if err != nil {
			return
		}
		p := attachment.Pointer{Key: k, Digest: digest, Size: size}
		var dst recorder
		n, err := attachment.Decrypt(&dst, bytes.NewReader(blob), p)
		if err != nil {
			if dst.n != 0 || n != 0 {
				t.Fatalf("failure wrote %d bytes", dst.n)
			}
			for _, s := range []error{attachment.ErrWrongKey, attachment.ErrDigestMismatch, attachment.ErrTruncated, attachment.ErrTooLarge, attachment.ErrMalformed} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("untyped error: %v", err)
		}
		if size > 0 && n != size {
			t.Fatalf("decrypted %d bytes, pointer says %d", n, size)
		}
		_, _ = attachment.DecryptProfilePicture([32]byte(append(key, make([]byte, 32)...)[:32]), blob)
	})
}
