package community

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// boolish is a JSON boolean that also accepts the numbers 0 and 1. pysogs sends some booleans
// straight from SQLite, as numbers (whisper_mods in message rows, while the reply to a post has
// a bool), so every boolean of every reply is read with it. null leaves it false.
type boolish bool

func (b *boolish) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "true", "1":
		*b = true
	case "false", "0":
		*b = false
	case "null":
	default:
		return fmt.Errorf("%s is not a boolean (true, false, 0 or 1)", data)
	}
	return nil
}

// looseInt reads an integer that a row may carry as a JSON number (integral, even when written
// as 5.0) or as a string of digits. It is used only to report which row was skipped, so that a
// row that does not parse can still be moved past.
func looseInt(raw json.RawMessage) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		raw = []byte(s)
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// rowKeys reads the id and seqno of a row (message or DM) whatever else is wrong with it; zero
// for what cannot be read.
func rowKeys(raw json.RawMessage) (id, seqno int64) {
	var k struct {
		ID    json.RawMessage `json:"id"`
		Seqno json.RawMessage `json:"seqno"`
	}
	if json.Unmarshal(raw, &k) != nil {
		return 0, 0
	}
	id, _ = looseInt(k.ID)
	seqno, _ = looseInt(k.Seqno)
	return id, seqno
}
