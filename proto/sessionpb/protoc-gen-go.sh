#!/bin/sh
# protoc plugin wrapper: runs the protoc-gen-go of the google.golang.org/protobuf version that
# go.mod pins, so regenerating needs no separately installed plugin.
exec go run google.golang.org/protobuf/cmd/protoc-gen-go "$@"
