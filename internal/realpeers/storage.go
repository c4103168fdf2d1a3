package realpeers

import "encoding/json"

// StorageLine is one exchange of a storage-server transcript (storage/*.jsonl).
type StorageLine struct {
	Case   string          `json:"case"`
	Via    string          `json:"via"`  // direct, onion-xchacha, onion-gcm
	Node   string          `json:"node"` // ip:port/ed25519-prefix of the node that answered
	Method *string         `json:"method"`
	Req    json.RawMessage `json:"req"` // the JSON request as sent
	Status int             `json:"status"`
	// Body is the reply: its JSON when it was JSON, else a JSON string of its text.
	Body        json.RawMessage `json:"body"`
	Note        string          `json:"note"`
	ClientError string          `json:"client_error"` // what the SDK said at the time
	OnionReply  string          `json:"onion_decrypted_reply"`
	OnionOuter  int             `json:"onion_outer_status"`
}

// Text returns the recorded body when it was text rather than JSON.
func (l StorageLine) Text() (string, bool) {
	var s string
	return s, json.Unmarshal(l.Body, &s) == nil
}

// ReplyBytes is the body as the node sent it.
func (l StorageLine) ReplyBytes() []byte {
	if s, ok := l.Text(); ok {
		return []byte(s)
	}
	return l.Body
}

// StorageKeys is the keys.json of a storage-server transcript.
type StorageKeys struct {
	Accounts map[string]struct {
		Seed string `json:"ed25519_seed_hex"`
		ID   string `json:"session_id"`
	} `json:"accounts"`
	Groups map[string]struct {
		Seed string `json:"admin_ed25519_seed_hex"`
		ID   string `json:"group_id"`
	} `json:"groups"`
	Nodes []struct {
		Ed      string `json:"pubkey_ed25519"`
		X       string `json:"pubkey_x25519"`
		HTTPS   string `json:"https"`
		SwarmID uint64 `json:"swarm_id_in_6_node_run"`
	} `json:"nodes"`
}

// ReadStorageKeys reads a storage transcript's keys.json.
func ReadStorageKeys(path string) (*StorageKeys, error) {
	return readJSON[StorageKeys](path)
}
