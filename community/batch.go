package community

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/sessiongo/sdk/internal/httperr"
)

// SubRequest is one request of a /batch or /sequence. Headers of subrequests are not used for
// authentication: the batch itself is signed.
type SubRequest struct {
	Method  string            // GET, POST, PUT or DELETE
	Path    string            // path and query, starting with "/"
	Headers map[string]string // optional
	// JSON is the body of a POST or PUT with a JSON body (marshalled as is); Body is a binary
	// body (sent base64-encoded). At most one may be set, and only for POST and PUT.
	JSON any
	Body []byte
}

func (s SubRequest) MarshalJSON() ([]byte, error) {
	o := map[string]any{"method": s.Method, "path": s.Path}
	if len(s.Headers) > 0 {
		o["headers"] = s.Headers
	}
	switch {
	case s.JSON != nil:
		o["json"] = s.JSON
	case s.Body != nil:
		o["b64"] = base64.StdEncoding.EncodeToString(s.Body)
	}
	return json.Marshal(o)
}

func (s SubRequest) check() error {
	switch s.Method {
	case "GET", "DELETE":
		if s.JSON != nil || s.Body != nil {
			return fmt.Errorf("%w: %s %s cannot have a body", ErrInvalidArgument, s.Method, s.Path)
		}
	case "POST", "PUT":
		if (s.JSON != nil) == (s.Body != nil) {
			return fmt.Errorf("%w: %s %s needs exactly one body", ErrInvalidArgument, s.Method, s.Path)
		}
	default:
		return fmt.Errorf("%w: method %q", ErrInvalidArgument, s.Method)
	}
	if !strings.HasPrefix(s.Path, "/") {
		return fmt.Errorf("%w: path %q does not start with /", ErrInvalidArgument, s.Path)
	}
	return nil
}

// SubResponse is the answer to one subrequest.
type SubResponse struct {
	Code    int
	Headers map[string]string
	// Body is the body as the batch carries it: JSON for JSON replies, else a JSON string of
	// base64 (see [SubResponse.Bytes]).
	Body json.RawMessage
}

// IsJSON reports whether the body is a JSON reply. pysogs carries every other body as a string
// of base64, also when it sends no content type (the "" of a 304); a body without a content
// type that is not a JSON string is taken as JSON.
func (r *SubResponse) IsJSON() bool {
	ct := httperr.Header(r.Headers, "content-type")
	if ct == "" {
		b := bytes.TrimSpace(r.Body)
		return len(b) > 0 && b[0] != '"'
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// Bytes returns the reply body: the JSON itself, or the decoded bytes of a binary reply.
func (r *SubResponse) Bytes() ([]byte, error) {
	if r.IsJSON() || len(r.Body) == 0 {
		return r.Body, nil
	}
	var s string
	if err := json.Unmarshal(r.Body, &s); err != nil {
		return nil, fmt.Errorf("%w: binary subresponse is not a string", ErrMalformedReply)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: binary subresponse is not base64", ErrMalformedReply)
	}
	return b, nil
}

// Err returns an *HTTPError for a non-2xx code (req is the subrequest it answers), else nil.
func (r *SubResponse) Err(req SubRequest) error {
	if r.Code >= 200 && r.Code <= 299 {
		return nil
	}
	body, _ := r.Bytes()
	var s string
	if json.Unmarshal(body, &s) == nil {
		body = []byte(s)
	}
	// A subresponse has no date to read a Retry-After date against: only delays count.
	return httperr.Check(string(domain), req.Method, req.Path, r.Code, r.Headers, body, time.Time{})
}

type subResponseJSON struct {
	Code    *int              `json:"code"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// ParseSubResponses decodes the body of a /batch or /sequence answer.
func ParseSubResponses(body []byte) ([]SubResponse, error) {
	var rows []subResponseJSON
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("%w: batch answer: %w", ErrMalformedReply, err)
	}
	out := make([]SubResponse, len(rows))
	for i, r := range rows {
		if r.Code == nil {
			return nil, fmt.Errorf("%w: batch answer %d without code", ErrMalformedReply, i)
		}
		out[i] = SubResponse{Code: *r.Code, Headers: r.Headers, Body: r.Body}
		if bytes.Equal(bytes.TrimSpace(r.Body), jsonNull) {
			out[i].Body = nil
		}
	}
	return out, nil
}

// Batch sends subrequests in one signed request; the server runs them independently and answers
// each. A malformed subrequest fails the whole batch (ErrBadRequest).
func (c *Client) Batch(ctx context.Context, reqs []SubRequest) ([]SubResponse, error) {
	return c.multi(ctx, "/batch", reqs)
}

// Sequence is Batch with the subrequests run in order, stopping after the first that fails
// (its answer is the last one).
func (c *Client) Sequence(ctx context.Context, reqs []SubRequest) ([]SubResponse, error) {
	return c.multi(ctx, "/sequence", reqs)
}

func (c *Client) multi(ctx context.Context, endpoint string, reqs []SubRequest) ([]SubResponse, error) {
	if len(reqs) == 0 {
		return nil, fmt.Errorf("%w: empty batch", ErrInvalidArgument)
	}
	for _, s := range reqs {
		if err := s.check(); err != nil {
			return nil, err
		}
	}
	r, err := jsonRequest("POST", endpoint, reqs)
	if err != nil {
		return nil, err
	}
	r.readOnly = true
	for _, s := range reqs {
		r.readOnly = r.readOnly && s.Method == "GET"
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	out, err := ParseSubResponses(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", endpoint, err)
	}
	if len(out) > len(reqs) || (endpoint == "/batch" && len(out) != len(reqs)) {
		return nil, fmt.Errorf("%w: %d answers to %d subrequests", ErrMalformedReply, len(out), len(reqs))
	}
	return out, nil
}
