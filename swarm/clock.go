package swarm

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Network time is learned by agreement, not from one reply. Every reply's "t" gives a sample: the
// node's clock minus our local clock at the middle of the round trip. The clock keeps the latest
// sample of each node (a bounded number of recent ones) and moves its offset only to the median
// of samples that agree with one another (within clockAgree) and come from at least clockQuorum
// distinct nodes (fewer on networks that have fewer nodes). So one lying or broken node can
// neither move the clock (its sample is an outlier, reported) nor hold it still (the others'
// agreement moves it past it), however far off it is; and a local clock that is wrong by hours
// is corrected as soon as three nodes agree.
const (
	clockQuorum     = 3
	clockAgree      = 10 * time.Second // samples this close to the median agree
	clockSampleLife = 30 * time.Minute // samples older than this are forgotten
	clockMaxSamples = 64               // most recent nodes kept
	clockMinT       = 1e12             // a "t" below this (2001-09-09) is no time in ms
)

type clockSample struct {
	offset int64     // node time minus local time, ms
	at     time.Time // local time the sample was taken
}

type netClock struct {
	local  func() time.Time
	quorum func() int // distinct nodes needed to agree (min(clockQuorum, known nodes))

	mu      sync.Mutex
	offset  int64 // agreed network time minus local time, ms
	agreed  bool  // offset was set by agreement at least once
	samples map[[32]byte]clockSample
}

func newNetClock(local func() time.Time, quorum func() int) *netClock {
	return &netClock{local: local, quorum: quorum, samples: map[[32]byte]clockSample{}}
}

// now is network time.
func (c *netClock) now() time.Time {
	c.mu.Lock()
	off := c.offset
	c.mu.Unlock()
	return c.local().Add(time.Duration(off) * time.Millisecond)
}

func (c *netClock) offsetDuration() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.offset) * time.Millisecond
}

// observe records the time t (ms) that node reported in a reply to a request sent at sent and
// answered at received (local clock). It reports whether the sample disagrees with the time the
// other nodes agree on (the node's clock is off, or it lies), and whether the offset moved.
func (c *netClock) observe(node [32]byte, t int64, sent, received time.Time) (outlier, moved bool) {
	if t < clockMinT || t > math.MaxInt64/2 {
		// Not a time in milliseconds: "t": 1 and friends. Nothing to learn, and no honest
		// node sends it.
		return t != 0, false
	}
	mid := sent.Add(received.Sub(sent) / 2)
	s := clockSample{offset: t - mid.UnixMilli(), at: received}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples[node] = s
	c.trimLocked(received)
	moved = c.agreeLocked()
	if c.agreed && absMs(s.offset-c.offset) > clockAgree.Milliseconds() {
		outlier = true
	}
	return outlier, moved
}

// trimLocked forgets old samples and keeps the most recent clockMaxSamples.
func (c *netClock) trimLocked(now time.Time) {
	for k, s := range c.samples {
		if now.Sub(s.at) > clockSampleLife || s.at.Sub(now) > clockSampleLife {
			delete(c.samples, k)
		}
	}
	for len(c.samples) > clockMaxSamples {
		var oldest [32]byte
		first := true
		for k, s := range c.samples {
			if first || s.at.Before(c.samples[oldest].at) {
				oldest, first = k, false
			}
		}
		delete(c.samples, oldest)
	}
}

// agreeLocked moves the offset to the median of the largest group of samples that agree with
// one another, when that group is big enough. It reports whether the offset changed.
func (c *netClock) agreeLocked() bool {
	offs := make([]int64, 0, len(c.samples))
	for _, s := range c.samples {
		offs = append(offs, s.offset)
	}
	if len(offs) == 0 {
		return false
	}
	slices.Sort(offs)
	// The largest window of sorted offsets spanning at most 2·clockAgree: the samples that
	// agree. Ties go to the window closest to the current offset (no needless move).
	span := 2 * clockAgree.Milliseconds()
	bestLo, bestN := 0, 0
	for lo, hi := 0, 0; lo < len(offs); lo++ {
		for hi < len(offs) && offs[hi]-offs[lo] <= span {
			hi++
		}
		n := hi - lo
		if n > bestN || (n == bestN && absMs(offs[lo+n/2]-c.offset) < absMs(offs[bestLo+bestN/2]-c.offset)) {
			bestLo, bestN = lo, n
		}
	}
	q := clockQuorum
	if c.quorum != nil {
		q = max(1, min(clockQuorum, c.quorum()))
	}
	if bestN < q {
		return false
	}
	// A group that another, disjoint group matches in size does not win: two liars agreeing
	// with each other against two honest nodes leave the clock where it is.
	if largestWindow(offs[:bestLo], span) >= bestN || largestWindow(offs[bestLo+bestN:], span) >= bestN {
		return false
	}
	med := offs[bestLo+bestN/2]
	if bestN%2 == 0 {
		med = (offs[bestLo+bestN/2-1] + offs[bestLo+bestN/2]) / 2
	}
	changed := med != c.offset
	c.offset, c.agreed = med, true
	return changed
}

// largestWindow is the largest number of sorted offsets within span of one another.
func largestWindow(offs []int64, span int64) int {
	best := 0
	for lo, hi := 0, 0; lo < len(offs); lo++ {
		for hi < len(offs) && offs[hi]-offs[lo] <= span {
			hi++
		}
		best = max(best, hi-lo)
	}
	return best
}

func absMs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
