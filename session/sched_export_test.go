package session

import "time"

// SetPollObserver makes the scheduler of n call f as each scheduled poll starts, with its lane
// ("swarm", "group", "community"), how late it starts versus its schedule, and the client's
// poll interval (for BenchmarkManyAccounts).
func SetPollObserver(n *Network, f func(lane string, late, interval time.Duration)) {
	n.sched.observe.Store(&f)
}
