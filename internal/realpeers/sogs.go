package realpeers

// SogsLine is one exchange of a pysogs transcript (sogs/*.jsonl).
type SogsLine struct {
	Instance   string            `json:"instance"` // main, or unblinded…
	Case       string            `json:"case"`     // <mode>: <operation>
	Method     string            `json:"method"`
	Path       string            `json:"path"` // as sent, percent-encoding kept
	ReqHeaders map[string]string `json:"req_headers"`
	ReqBody    *string           `json:"req_body"`     // text
	ReqBodyB64 *string           `json:"req_body_b64"` // binary
	// ReqBodyTruncated says the body kept only its first 4 KiB; ReqBodyBlake2b512 is then the
	// hash of the whole body, which the signature covers.
	ReqBodyTruncated  bool              `json:"req_body_truncated"`
	ReqBodyBlake2b512 string            `json:"req_body_blake2b512"`
	ReqLen            int               `json:"req_len"`
	Status            int               `json:"status"`
	RespHeaders       map[string]string `json:"resp_headers"`
	RespBody          *string           `json:"resp_body"`
	RespBodyB64       *string           `json:"resp_body_b64"` // binary, up to 4 KiB
	RespBodyTruncated bool              `json:"resp_body_truncated"`
	RespLen           int               `json:"resp_len"`
	T                 float64           `json:"t"` // unix seconds of the reply
}

// SogsKeys is the keys.json of a pysogs transcript.
type SogsKeys struct {
	Servers map[string]struct {
		BaseURL string `json:"base_url"`
		X25519  string `json:"x25519_pubkey"`
	} `json:"servers"`
	Accounts map[string]struct {
		Seed string            `json:"seed_hex"`
		Ed   string            `json:"ed25519_pubkey"`
		ID05 string            `json:"id_05"`
		ID15 map[string]string `json:"id_15"` // instance → 15 ID
	} `json:"accounts"`
}

// ReadSogsKeys reads a pysogs transcript's keys.json.
func ReadSogsKeys(path string) (*SogsKeys, error) {
	return readJSON[SogsKeys](path)
}
