// Package fileserver is a client for the Session file server, which holds the encrypted
// attachments of 1:1 and group messages and profile pictures for a few weeks.
//
// A Client uploads (POST /file, with an optional TTL and a size limit checked before
// anything is sent), downloads (GET /file/<id>), extends a file's life (POST
// /file/<id>/extend) and reads its metadata (GET /file/<id>/info). Requests go through an
// onion.ServerTransport: an *onion.Transport (onion request v4 to the server's X25519 key,
// the default and what the official clients do) or an *onion.DirectServerTransport (plain
// HTTP(S); the server sees the caller's IP address).
//
// UploadAttachment and DownloadAttachment combine the transfers with package attachment:
// the plaintext is streamed from an io.Reader into one encrypted buffer, and downloads are
// verified (size, digest, MAC) and decrypted in place before anything is written to the
// caller's io.Writer. Progress callbacks and ctx cancellation cover each step.
//
// Server answers other than 2xx are *HTTPError values, which match ErrNotFound,
// ErrTooLarge, … with errors.Is; replies that do not parse are ErrMalformedReply.
package fileserver
