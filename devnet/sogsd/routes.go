package sogsd

import (
	"context"
	"net/http"

	"github.com/sessiongo/sdk/devnet/internal/v4srv"
)

// The routes of pysogs (sogs/routes/*.py), as net/http ServeMux patterns (v4srv.Router). A path
// that matches no pattern is Flask's 404 page (pysogs's converters refuse an unknown room, a
// number that is not one, or an ID of the wrong kind the same way: the route does not match);
// a path that matches for other methods only is its 405 page. Every request, direct, onion or a
// batch subrequest, is served by the same router, with the call in its context.

type callKey struct{}

// route serves one request (authenticated by handle) through the router.
func (s *Server) route(ctx context.Context, c *call) *v4srv.Response {
	return s.router.Serve(context.WithValue(ctx, callKey{}, c), c.r)
}

// handler is a route's handler: the call, and the request for its path values.
type handler func(c *call, req *http.Request) *v4srv.Response

// roomHandler is the handler of a /room/{token}/… route, run under the server's lock with the
// room and the caller's permissions there.
type roomHandler func(c *call, r *room, p perms, req *http.Request) *v4srv.Response

// inRoom looks the room up (an unknown one does not match pysogs's Room converter: 404), notes
// the caller as active in it, and runs f.
func (s *Server) inRoom(f roomHandler) handler {
	return func(c *call, req *http.Request) *v4srv.Response {
		s.mu.Lock()
		defer s.mu.Unlock()
		r, ok := s.rooms[req.PathValue("token")]
		if !ok {
			return respNotFound()
		}
		p := s.permsLocked(r, c.user, c.now)
		if c.user != nil && p.Accessible {
			r.active[*c.user] = c.now
		}
		return f(c, r, p, req)
	}
}

// idHandler is a roomHandler with the {id} of the path.
type idHandler func(c *call, r *room, p perms, id int64, req *http.Request) *v4srv.Response

// withID runs f with the {id} of the path, which pysogs's int converter requires (404 else).
func withID(f idHandler) roomHandler {
	return func(c *call, r *room, p perms, req *http.Request) *v4srv.Response {
		id, ok := parseID(req.PathValue("id"))
		if !ok {
			return respNotFound()
		}
		return f(c, r, p, id, req)
	}
}

// routes builds the server's router.
func (s *Server) routes() *v4srv.Router {
	rt := v4srv.NewRouter(respNotFound)
	rt.MethodNotAllowed = func(allow string) *v4srv.Response {
		resp := page(http.StatusMethodNotAllowed)
		resp.Header.Set("Allow", allow)
		return resp
	}
	handle := func(pattern string, h handler) {
		rt.Handle(pattern, func(_ *v4srv.Request, req *http.Request) *v4srv.Response {
			return h(req.Context().Value(callKey{}).(*call), req)
		})
	}
	inRoom := func(pattern string, h roomHandler) { handle(pattern, s.inRoom(h)) }
	id := func(pattern string, h idHandler) { inRoom(pattern, withID(h)) }

	handle("GET /capabilities", func(c *call, _ *http.Request) *v4srv.Response { return s.capabilities(c) })
	handle("POST /batch", s.batchRoute(false))
	handle("POST /sequence", s.batchRoute(true))
	handle("GET /rooms", func(c *call, _ *http.Request) *v4srv.Response { return s.listRooms(c) })
	handle("DELETE /rooms/all/{sid}", func(c *call, req *http.Request) *v4srv.Response {
		return s.deleteAllEverywhere(c, req.PathValue("sid"))
	})

	inRoom("GET /room/{token}", func(c *call, r *room, p perms, _ *http.Request) *v4srv.Response {
		if !p.Accessible {
			return respNotFound() // accessible_required
		}
		return v4srv.JSON(http.StatusOK, s.roomInfoLocked(r, c.user, p, c.now))
	})
	inRoom("PUT /room/{token}", func(c *call, r *room, p perms, _ *http.Request) *v4srv.Response {
		return s.updateRoomLocked(c, r, p)
	})
	id("GET /room/{token}/pollInfo/{id}", func(c *call, r *room, p perms, n int64, _ *http.Request) *v4srv.Response {
		return s.pollInfoLocked(c, r, p, n)
	})
	inRoom("GET /room/{token}/messages/recent", func(c *call, r *room, p perms, _ *http.Request) *v4srv.Response {
		return s.listMessagesLocked(c, r, p, "recent", 0)
	})
	for _, kind := range []string{"since", "before"} {
		id("GET /room/{token}/messages/"+kind+"/{id}", func(c *call, r *room, p perms, n int64, _ *http.Request) *v4srv.Response {
			return s.listMessagesLocked(c, r, p, kind, n)
		})
	}
	inRoom("POST /room/{token}/message", func(c *call, r *room, p perms, _ *http.Request) *v4srv.Response {
		return s.postMessageLocked(c, r, p)
	})
	id("GET /room/{token}/message/{id}", func(c *call, r *room, p perms, n int64, _ *http.Request) *v4srv.Response {
		return s.getMessageLocked(c, r, p, n)
	})
	id("PUT /room/{token}/message/{id}", func(c *call, r *room, p perms, n int64, _ *http.Request) *v4srv.Response {
		return s.editMessageLocked(c, r, p, n)
	})
	id("DELETE /room/{token}/message/{id}", func(c *call, r *room, p perms, n int64, _ *http.Request) *v4srv.Response {
		return s.deleteMessageLocked(c, r, p, n)
	})
	for _, add := range []bool{true, false} {
		method := map[bool]string{true: "PUT", false: "DELETE"}[add]
		id(method+" /room/{token}/reaction/{id}/{reaction...}", func(c *call, r *room, p perms, n int64, req *http.Request) *v4srv.Response {
			return s.reactionLocked(c, r, p, n, req.PathValue("reaction"), add)
		})
	}
	id("DELETE /room/{token}/reactions/{id}", func(c *call, r *room, p perms, n int64, _ *http.Request) *v4srv.Response {
		return s.clearReactionsLocked(c, r, p, n, "", false)
	})
	id("DELETE /room/{token}/reactions/{id}/{reaction...}", func(c *call, r *room, p perms, n int64, req *http.Request) *v4srv.Response {
		return s.clearReactionsLocked(c, r, p, n, req.PathValue("reaction"), true)
	})
	id("GET /room/{token}/reactors/{id}/{reaction...}", func(c *call, r *room, p perms, n int64, req *http.Request) *v4srv.Response {
		return s.reactorsLocked(c, r, p, n, req.PathValue("reaction"))
	})
	for _, action := range []string{"pin", "unpin"} {
		id("POST /room/{token}/"+action+"/{id}", func(c *call, r *room, p perms, _ int64, req *http.Request) *v4srv.Response {
			return s.pinLocked(c, r, p, action == "pin", req.PathValue("id"))
		})
	}
	inRoom("POST /room/{token}/unpin/all", func(c *call, r *room, p perms, _ *http.Request) *v4srv.Response {
		return s.pinLocked(c, r, p, false, "all")
	})
	inRoom("POST /room/{token}/file", func(c *call, r *room, p perms, _ *http.Request) *v4srv.Response {
		return s.uploadLocked(c, r, p)
	})
	for _, pattern := range []string{"GET /room/{token}/file/{id}", "GET /room/{token}/file/{id}/{name}"} {
		id(pattern, func(c *call, r *room, p perms, n int64, _ *http.Request) *v4srv.Response {
			return s.downloadLocked(c, r, p, n)
		})
	}
	for _, pattern := range []string{"GET /room/{token}/permissions", "GET /room/{token}/permissions/{sid}", "POST /room/{token}/permissions/{sid}"} {
		inRoom(pattern, func(c *call, r *room, p perms, req *http.Request) *v4srv.Response {
			return s.permissionsLocked(c, r, p, req.PathValue("sid"))
		})
	}
	for _, pattern := range []string{"GET /room/{token}/futurePermissions", "GET /room/{token}/futurePermissions/{sid}", "POST /room/{token}/futurePermissions/{sid}"} {
		inRoom(pattern, func(c *call, r *room, p perms, req *http.Request) *v4srv.Response {
			return s.futurePermissionsLocked(c, r, p, req.PathValue("sid"))
		})
	}
	inRoom("DELETE /room/{token}/all/{sid}", func(c *call, r *room, _ perms, req *http.Request) *v4srv.Response {
		return s.deleteAllLocked(c, r, req.PathValue("sid"))
	})

	handle("POST /user/{sid}/ban", func(c *call, req *http.Request) *v4srv.Response { return s.banUser(c, req.PathValue("sid"), true) })
	handle("POST /user/{sid}/unban", func(c *call, req *http.Request) *v4srv.Response { return s.banUser(c, req.PathValue("sid"), false) })
	handle("POST /user/{sid}/moderator", func(c *call, req *http.Request) *v4srv.Response { return s.setModerator(c, req.PathValue("sid")) })

	handle("POST /inbox/{sid}", func(c *call, req *http.Request) *v4srv.Response { return s.postDM(c, req.PathValue("sid")) })
	handle("DELETE /inbox", func(c *call, _ *http.Request) *v4srv.Response { return s.clearInbox(c) })
	for _, box := range []string{"inbox", "outbox"} {
		handle("GET /"+box, func(c *call, _ *http.Request) *v4srv.Response { return s.readBox(c, box == "inbox", -1) })
		handle("GET /"+box+"/since/{id}", func(c *call, req *http.Request) *v4srv.Response {
			since, ok := parseID(req.PathValue("id"))
			if !ok {
				return respNotFound()
			}
			return s.readBox(c, box == "inbox", since)
		})
	}
	return rt
}

// batchRoute serves /batch and /sequence; they do not nest (a nested one is 400).
func (s *Server) batchRoute(sequence bool) handler {
	return func(c *call, req *http.Request) *v4srv.Response {
		if c.inSub {
			return respBadRequestPage()
		}
		return s.batch(req.Context(), c, sequence)
	}
}
