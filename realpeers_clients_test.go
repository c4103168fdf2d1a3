package sdk_test

import "testing"

// runClientCorpus replays one recording of testdata/real/clients.
func runClientCorpus(t *testing.T, path string) {
	t.Fatalf("%s: runner not written yet", path)
}
