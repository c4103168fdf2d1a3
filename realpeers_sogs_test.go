package sdk_test

import "testing"

// runSogsTranscript replays one recording of testdata/real/sogs.
func runSogsTranscript(t *testing.T, path string) {
	t.Fatalf("%s: runner not written yet", path)
}
