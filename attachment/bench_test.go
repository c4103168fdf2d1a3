package attachment_test

import (
	"bytes"
	"io"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/sessiongo/sdk/attachment"
)

const benchSize = 10_000_000

// heapPerOp runs op once with the garbage collector off and returns the bytes allocated on
// the heap meanwhile: an upper bound of the peak heap the operation needs.
func heapPerOp(b *testing.B, op func()) float64 {
	b.Helper()
	runtime.GC()
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	op()
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / 1e6
}

// benchOp measures op on benchSize bytes, and reports its peak heap (heapPerOp) as
// peak-heap-MB.
func benchOp(b *testing.B, op func() error) {
	b.Helper()
	run := func() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	peak := heapPerOp(b, run)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.ReportMetric(peak, "peak-heap-MB")
}

func BenchmarkAttachmentEncrypt10MB(b *testing.B) {
	data := testData(benchSize)
	b.Run("legacy", func(b *testing.B) {
		benchOp(b, func() error {
			_, err := attachment.EncryptLegacy(io.Discard, bytes.NewReader(data), nil)
			return err
		})
	})
	b.Run("deterministic", func(b *testing.B) {
		benchOp(b, func() error {
			_, err := attachment.EncryptDeterministic(io.Discard, data, testSeed, attachment.DomainAttachment)
			return err
		})
	})
}

func BenchmarkAttachmentDecrypt10MB(b *testing.B) {
	data := testData(benchSize)
	for _, scheme := range []string{"legacy", "deterministic"} {
		var blob bytes.Buffer
		var p attachment.Pointer
		var err error
		if scheme == "legacy" {
			p, err = attachment.EncryptLegacy(&blob, bytes.NewReader(data), nil)
		} else {
			p, err = attachment.EncryptDeterministic(&blob, data, testSeed, attachment.DomainAttachment)
		}
		if err != nil {
			b.Fatal(err)
		}
		// Decrypt: from an io.Reader (the blob is read into one buffer and decrypted in place).
		b.Run(scheme, func(b *testing.B) {
			benchOp(b, func() error {
				_, err := attachment.Decrypt(io.Discard, bytes.NewReader(blob.Bytes()), p)
				return err
			})
		})
	}
}
