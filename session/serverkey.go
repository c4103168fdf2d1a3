package session

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/sessiongo/sdk/onion"
)

// ErrWrongServerKey: a community server did not accept requests made with the public key of its
// join URL (the "public_key" parameter): the URL is wrong or outdated. Match it with errors.Is.
var ErrWrongServerKey = errors.New("session: the server does not have the public key of its URL")

// ServerKeyError names the server and the key that it refused.
type ServerKeyError struct {
	Server string   // the server's base URL
	Key    [32]byte // the X25519 key of the URL
	Err    error    // what the server (or the last onion hop) answered
}

func (e *ServerKeyError) Error() string {
	return fmt.Sprintf("session: the community server %s refused requests made with the public key of its URL (public_key=%s…): "+
		"the join URL is wrong or outdated; ask the room for its current one (%v)", e.Server, hex.EncodeToString(e.Key[:4]), e.Err)
}

func (e *ServerKeyError) Unwrap() []error { return []error{ErrWrongServerKey, e.Err} }

// serverKeyCheck turns the answers a server gives to requests made with a wrong key into a
// ServerKeyError: through onion paths, the server cannot decrypt the request and answers 400
// "Invalid ciphertext"; directly, it cannot verify our signature, which covers its key, and
// answers 401 "X-SOGS-Signature verification failed".
type serverKeyCheck struct{ t onion.ServerTransport }

func (s serverKeyCheck) Do(ctx context.Context, server onion.Server, req *onion.ServerRequest) (*onion.Response, error) {
	resp, err := s.t.Do(ctx, server, req)
	var pe *onion.PathError
	switch {
	case errors.As(err, &pe) && pe.Status == 400 && (bytes.Contains(pe.Body, []byte("Invalid ciphertext")) || bytes.Contains(pe.Body, []byte("Bad Request"))):
		// A plain (unencrypted) 400 on the way to a server: the server could not decrypt the
		// request (a relay whose key is wrong would fail storage requests too). Nodes say
		// "Invalid ciphertext"; a web framework's abort(400) says "Bad Request".
		return nil, &ServerKeyError{Server: server.URL.String(), Key: server.X25519, Err: err}
	case err == nil && resp != nil && resp.Status == 401 && bytes.Contains(resp.Body, []byte("Signature verification failed")):
		return nil, &ServerKeyError{Server: server.URL.String(), Key: server.X25519,
			Err: fmt.Errorf("answered 401 %q", bytes.TrimSpace(resp.Body))}
	}
	return resp, err
}
