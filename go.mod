module github.com/sessiongo/sdk

go 1.24.0

require filippo.io/edwards25519 v1.2.0

require (
	github.com/klauspost/compress v1.19.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	github.com/tyler-smith/go-bip39 v1.1.0 // indirect
	golang.org/x/crypto v0.46.0 // indirect
	golang.org/x/sync v0.18.0 // indirect
	golang.org/x/sys v0.39.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
