package fileserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// FileInfo describes a stored file.
type FileInfo struct {
	ID       string
	Size     int64     // bytes; 0 when the reply did not say (uploads)
	Uploaded time.Time // zero when the reply did not say
	Expires  time.Time // zero when the reply did not say
}

// maxIDLength bounds file IDs (content IDs are 44 characters, numeric ones up to 16).
const maxIDLength = 128

// validID reports whether id is safe to put in a path: 1-128 characters of URL-safe base64
// (letters, digits, '-', '_', '=').
func validID(id string) bool {
	if id == "" || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '=') {
			return false
		}
	}
	return true
}

// secondsTime converts the server's float seconds; it refuses NaN, infinities, negative
// values and anything past the year 5000.
func secondsTime(f float64) (time.Time, bool) {
	if math.IsNaN(f) || f < 0 || f > 95_617_584_000 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// optTime reads an optional float-seconds field.
func optTime(f *float64, field string) (time.Time, error) {
	if f == nil {
		return time.Time{}, nil
	}
	t, ok := secondsTime(*f)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %s %v", ErrMalformedReply, field, *f)
	}
	return t, nil
}

// parseUploadReply reads {"id": "<id>" | <integer>, "expires"?: <float seconds>}.
func parseUploadReply(body []byte) (FileInfo, error) {
	var r struct {
		ID      json.RawMessage `json:"id"`
		Expires *float64        `json:"expires"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return FileInfo{}, fmt.Errorf("%w: upload reply: %w", ErrMalformedReply, err)
	}
	var id string
	if err := json.Unmarshal(r.ID, &id); err != nil {
		// The old server's numeric IDs may arrive as JSON numbers.
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(r.ID))
		d.UseNumber()
		if d.Decode(&n) != nil {
			return FileInfo{}, fmt.Errorf("%w: upload reply has no id", ErrMalformedReply)
		}
		id = n.String()
	}
	if !validID(id) {
		return FileInfo{}, fmt.Errorf("%w: file id %q", ErrMalformedReply, id)
	}
	exp, err := optTime(r.Expires, "expires")
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{ID: id, Expires: exp}, nil
}

// parseInfoReply reads {"size": <int>, "uploaded": <float seconds>, "expires": <float
// seconds>} (the info and extend replies).
func parseInfoReply(id string, body []byte) (FileInfo, error) {
	var r struct {
		Size     *float64 `json:"size"`
		Uploaded *float64 `json:"uploaded"`
		Expires  *float64 `json:"expires"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return FileInfo{}, fmt.Errorf("%w: info reply: %w", ErrMalformedReply, err)
	}
	info := FileInfo{ID: id}
	if r.Size != nil {
		s := *r.Size
		if s < 0 || s > 1<<53 || s != math.Trunc(s) {
			return FileInfo{}, fmt.Errorf("%w: size %v", ErrMalformedReply, s)
		}
		info.Size = int64(s)
	}
	var err error
	if info.Uploaded, err = optTime(r.Uploaded, "uploaded"); err != nil {
		return FileInfo{}, err
	}
	if info.Expires, err = optTime(r.Expires, "expires"); err != nil {
		return FileInfo{}, err
	}
	if r.Expires == nil {
		return FileInfo{}, fmt.Errorf("%w: info reply has no expiry", ErrMalformedReply)
	}
	return info, nil
}
