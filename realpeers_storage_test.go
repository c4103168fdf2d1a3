package sdk_test

import "testing"

// runStorageTranscript replays one recording of testdata/real/storage.
func runStorageTranscript(t *testing.T, path string) {
	t.Fatalf("%s: runner not written yet", path)
}
