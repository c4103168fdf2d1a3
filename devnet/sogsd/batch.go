package sogsd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
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
	if !decodeJSON(c.r, &subs) || len(subs) > maxSubrequests {
		return respBadRequestPage()
	}
	reqs := make([]*v4srv.Request, len(subs))
	for i, sr := range subs {
		req, _ := s.subRequest(sr)
		if req == nil {
			return respBadRequestPage()
		}
		reqs[i] = req
	}
	// The reply is written by hand so that the JSON bodies of the subrequests, which this
	// server produced itself, are embedded as they are instead of being parsed and compacted
	// again (most of the cost of a large poll).
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, req := range reqs {
		if err := ctx.Err(); err != nil {
			return page(http.StatusServiceUnavailable)
		}
		resp := s.route(ctx, &call{r: req, user: c.user, now: s.Now(), inSub: true})
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeSubResult(&buf, resp); err != nil {
			return respServerError()
		}
		if sequence && (resp.Status < 200 || resp.Status > 299) {
			break
		}
	}
	buf.WriteByte(']')
	return v4srv.Bytes(http.StatusOK, "application/json", buf.Bytes())
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
		// pysogs logs a b64 that does not decode and runs the subrequest without a body.
		body, _ = decodeB64(*sr.B64)
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

// writeSubResult writes one {code, headers, body} item: body is the JSON itself for JSON
// replies (which come from v4srv.JSON, so they are valid, compact JSON), else a base64 string,
// "" for an empty body (pysogs's 304 is {"code":304,"headers":{},"body":""}).
func writeSubResult(buf *bytes.Buffer, resp *v4srv.Response) error {
	h := v4srv.LowerHeaders(resp.Header)
	hj, err := json.Marshal(h)
	if err != nil {
		return err
	}
	buf.WriteString(`{"code":`)
	buf.WriteString(strconv.Itoa(resp.Status))
	buf.WriteString(`,"headers":`)
	buf.Write(hj)
	buf.WriteString(`,"body":`)
	ct, _, _ := mime.ParseMediaType(h["content-type"])
	switch {
	case ct == "application/json" && len(resp.Body) > 0:
		buf.Write(resp.Body)
	default:
		buf.WriteByte('"')
		buf.WriteString(base64.StdEncoding.EncodeToString(resp.Body))
		buf.WriteByte('"')
	}
	buf.WriteByte('}')
	return nil
}
