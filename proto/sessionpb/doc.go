// Package sessionpb holds the Session protocol buffers (proto2): Envelope, WebSocketMessage,
// Content and every message Content carries. It is public so that applications can build custom
// Content to send and read the full Content of anything they receive (the session package's
// functions and events that carry protobuf messages use these types).
//
// session.proto is written for this SDK from the protocol's field tables; session.pb.go is
// generated from it and committed (go generate ./proto/sessionpb, with protoc on PATH and the
// protoc-gen-go version that go.mod pins).
package sessionpb

//go:generate protoc --plugin=protoc-gen-go=./protoc-gen-go.sh --go_out=. --go_opt=paths=source_relative session.proto
