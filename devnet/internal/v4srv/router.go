package v4srv

import (
	"context"
	"net/http"
	"net/url"
)

// Router is a Handler that matches requests (direct, onion, or a server's batch subrequests)
// with net/http ServeMux patterns ("GET /room/{token}/message/{id}"); handlers read path values
// from the *http.Request they get.
type Router struct {
	mux *http.ServeMux
	// NotFound answers a path that no pattern matches; MethodNotAllowed one that patterns match
	// for other methods only (allow lists them).
	NotFound         func() *Response
	MethodNotAllowed func(allow string) *Response
}

// RouteHandler serves a matched request: r as the server sees it, req for its path values and
// context.
type RouteHandler func(r *Request, req *http.Request) *Response

// NewRouter returns a Router with no routes; notFound is also the answer to wrong methods until
// MethodNotAllowed is set.
func NewRouter(notFound func() *Response) *Router {
	return &Router{mux: http.NewServeMux(), NotFound: notFound}
}

// Handle registers h for pattern (net/http's pattern syntax; it panics on conflicting patterns,
// as ServeMux does).
func (rt *Router) Handle(pattern string, h RouteHandler) {
	rt.mux.HandleFunc(pattern, func(w http.ResponseWriter, req *http.Request) {
		rw := w.(*routeWriter)
		rw.resp = h(rw.r, req)
	})
}

// Serve runs the route of r with ctx (which handlers see as req.Context()).
func (rt *Router) Serve(ctx context.Context, r *Request) *Response {
	req := (&http.Request{Method: r.Method, URL: &url.URL{Path: r.Path, RawQuery: r.RawQuery}, Header: r.Header,
		Host: "localhost"}).WithContext(ctx)
	w := &routeWriter{r: r}
	rt.mux.ServeHTTP(w, req)
	switch {
	case w.resp != nil:
		return w.resp
	case w.status == http.StatusMethodNotAllowed && rt.MethodNotAllowed != nil:
		return rt.MethodNotAllowed(w.Header().Get("Allow"))
	}
	// No route: the mux's 404, 405, or redirect (to a cleaned path, or to "…/" for a pattern
	// ending in a {name...} wildcard that got nothing) is not followed.
	return rt.NotFound()
}

// routeWriter is the http.ResponseWriter of Serve: handlers set resp; of what the mux writes
// itself, the status and headers are kept.
type routeWriter struct {
	r      *Request
	resp   *Response
	header http.Header
	status int
}

func (w *routeWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *routeWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *routeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}
