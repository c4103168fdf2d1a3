package sogsd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"github.com/sessiongo/sdk/devnet/internal/v4srv"
)

// maxSubrequests bounds one batch.
const maxSubrequests = 256

type subrequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	JSON    json.RawMessage   `json:"json"`
	B64     *string           `json:"b64"`
	Bytes   *string           `json:"bytes"`
}

// batch serves POST /batch and /sequence: every subrequest runs as the outer request's user
// (subrequest X-SOGS-* headers are ignored); /sequence stops after the first non-2xx answer.
func (s *Server) batch(ctx context.Context, c *call, sequence bool) *v4srv.Response {
	var subs []subrequest
	if err := json.Unmarshal(c.r.Body, &subs); err != nil || len(subs) == 0 || len(subs) > maxSubrequests {
		return respBadRequest("Invalid batch request: expected a JSON list of requests")
	}
	reqs := make([]*v4srv.Request, len(subs))
	for i, sr := range subs {
		req, msg := s.subRequest(sr)
		if req == nil {
			return respBadRequest("Invalid batch request: " + msg)
		}
		reqs[i] = req
	}
	out := make([]map[string]any, 0, len(reqs))
	for _, req := range reqs {
		if err := ctx.Err(); err != nil {
			return jsonErr(http.StatusServiceUnavailable, "request cancelled")
		}
		resp := s.route(ctx, &call{r: req, user: c.user, now: s.cfg.now(), inSub: true})
		out = append(out, subResult(resp))
		if sequence && (resp.Status < 200 || resp.Status > 299) {
			break
		}
	}
	return v4srv.JSON(http.StatusOK, out)
}

func (s *Server) subRequest(sr subrequest) (*v4srv.Request, string) {
	method := strings.ToUpper(sr.Method)
	forms := 0
	var body []byte
	h := http.Header{}
	for k, v := range sr.Headers {
		h.Set(k, v)
	}
	if len(sr.JSON) > 0 && !bytes.Equal(sr.JSON, []byte("null")) {
		forms++
		body = sr.JSON
		h.Set("Content-Type", "application/json")
	}
	if sr.B64 != nil {
		forms++
		b, ok := decodeB64(*sr.B64)
		if !ok {
			return nil, "b64 is not base64"
		}
		body = b
	}
	if sr.Bytes != nil {
		forms++
		body = []byte(*sr.Bytes)
	}
	if forms > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/octet-stream")
	}
	switch method {
	case http.MethodGet, http.MethodDelete:
		if forms != 0 {
			return nil, method + " subrequests take no body"
		}
	case http.MethodPost, http.MethodPut:
		if forms != 1 {
			return nil, method + " subrequests need exactly one of json, b64 or bytes"
		}
	default:
		return nil, "invalid method " + sr.Method
	}
	req, err := v4srv.NewRequest(method, sr.Path, h, body)
	if err != nil {
		return nil, "invalid path"
	}
	return req, ""
}

// subResult is one {code, headers, body} item: body is JSON for JSON replies, base64 otherwise.
func subResult(resp *v4srv.Response) map[string]any {
	h := v4srv.LowerHeaders(resp.Header)
	var body any
	ct, _, _ := mime.ParseMediaType(h["content-type"])
	switch {
	case ct == "application/json" && json.Valid(resp.Body):
		body = json.RawMessage(resp.Body)
	case len(resp.Body) == 0:
		body = nil
	default:
		body = base64.StdEncoding.EncodeToString(resp.Body)
	}
	return map[string]any{"code": resp.Status, "headers": h, "body": body}
}
