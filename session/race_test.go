//go:build race

package session

// raceEnabled: the race detector slows every goroutine several times; time bounds of end-to-end
// tests allow for it.
const raceEnabled = true
