package filesd

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/sessiongo/sdk/devnet/internal/v4srv"
)

// Version-check headers (X-FS-*): a 07 version-blinded Ed25519 key, Unix seconds and an
// Ed25519 signature over timestamp ‖ METHOD ‖ path[?query] (the endpoint is a GET without a
// body).
const (
	HeaderFSPubkey    = "X-FS-Pubkey"
	HeaderFSTimestamp = "X-FS-Timestamp"
	HeaderFSSignature = "X-FS-Signature"
)

// versionWindow is how far an X-FS-Timestamp may be from the server's clock. The spec does not
// give the server's window; the devnet uses the community servers' 24 hours.
const versionWindow = 24 * time.Hour

// WithVersions sets what GET /session_version answers per platform ("desktop", "android",
// "ios"); platforms not listed get 404. Default: "v1.0.0" for all three.
func WithVersions(v map[string]string) Option {
	return func(st *v4srv.Settings) {
		c := own(st)
		c.versions = make(map[string]string, len(v))
		for k, s := range v {
			c.versions[k] = s
		}
	}
}

// sessionVersion serves GET /session_version?platform=…: the latest client version of a
// platform as {"status_code":200,"updated":<float seconds>,"result":"<version>"}. The X-FS-*
// headers are optional; when any is present all must be, and they must verify (400 malformed,
// 425 outside the window, 401 bad signature).
func (s *Server) sessionVersion(r *v4srv.Request) *v4srv.Response {
	pk, tsS, sigS := r.Header.Get(HeaderFSPubkey), r.Header.Get(HeaderFSTimestamp), r.Header.Get(HeaderFSSignature)
	if pk != "" || tsS != "" || sigS != "" {
		if st := s.checkVersionAuth(r, pk, tsS, sigS); st != 0 {
			return statusJSON(st)
		}
	}
	platform := r.Query().Get("platform")
	v, ok := s.cfg.versions[platform]
	if !ok {
		return statusJSON(http.StatusNotFound)
	}
	return v4srv.JSON(http.StatusOK, map[string]any{"status_code": 200, "updated": seconds(s.started), "result": v})
}

func (s *Server) checkVersionAuth(r *v4srv.Request, pkS, tsS, sigS string) int {
	if pkS == "" || tsS == "" || sigS == "" {
		return http.StatusBadRequest
	}
	pk, err := hex.DecodeString(pkS)
	if err != nil || len(pk) != 33 || pk[0] != 0x07 {
		return http.StatusBadRequest
	}
	sig, err := base64.StdEncoding.DecodeString(sigS)
	if err != nil {
		sig, err = hex.DecodeString(sigS)
	}
	if err != nil || len(sig) != ed25519.SignatureSize {
		return http.StatusBadRequest
	}
	ts, err := strconv.ParseInt(tsS, 10, 64)
	if err != nil {
		return http.StatusBadRequest
	}
	if d := s.Now().Sub(time.Unix(ts, 0)); d > versionWindow || d < -versionWindow {
		return http.StatusTooEarly
	}
	msg := append([]byte(tsS), r.Method...)
	msg = append(msg, r.SignedPath()...)
	if !ed25519.Verify(pk[1:], msg, sig) {
		return http.StatusUnauthorized
	}
	return 0
}
