package session

import "sync"

// keyedMutex gives one mutex per key: a group, a community server, an index record. The keys a
// client uses are few (its groups and servers), so mutexes are kept, not freed.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

func (k *keyedMutex) get(key string) *sync.Mutex {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]*sync.Mutex{}
	}
	m, ok := k.m[key]
	if !ok {
		m = new(sync.Mutex)
		k.m[key] = m
	}
	return m
}
