// Package pb holds the Session protocol buffers (proto2): Envelope, WebSocketMessage, Content and
// the messages Content carries. session.proto is written for this SDK from the specs' field
// tables; session.pb.go is generated from it and committed.
package pb

//go:generate protoc --plugin=protoc-gen-go=./protoc-gen-go.sh --go_out=. --go_opt=paths=source_relative session.proto
