module github.com/sessiongo/sdk

go 1.24.0

require (
	filippo.io/edwards25519 v1.2.0
	github.com/cloudflare/circl v1.6.4
	github.com/klauspost/compress v1.19.0
	github.com/tyler-smith/go-bip39 v1.1.0
	golang.org/x/crypto v0.46.0
	golang.org/x/sync v0.18.0
	google.golang.org/protobuf v1.36.12
	modernc.org/sqlite v1.46.1
)

require (
	github.com/dustin/go-humanize v1.0.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/ncruces/go-strftime v1.0.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	golang.org/x/exp v0.0.0-20251023183803-a4bb9ffd2546 // indirect
	golang.org/x/sys v0.39.0 // indirect
	modernc.org/libc v1.67.6 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.11.0 // indirect
)
