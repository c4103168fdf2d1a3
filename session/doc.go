// Package session is the message level of the Session protocol: it pads a serialized Content,
// seals it to a recipient's Account ID with the Session Protocol (package crypto), wraps it in
// the Envelope and WebSocketMessage that are stored in the recipient's swarm, and reverses all
// of that on receipt.
//
// Sending a message is, byte for byte:
//
//	base64( WebSocketMessage{REQUEST, request{verb, path, body: Envelope{
//	    SESSION_MESSAGE, timestamp, sourceDevice 1,
//	    content: Seal(Pad(Content{..., sigTimestamp = timestamp}))}}} )
//
// EncodeMessage and DecodeMessage do the whole walk; Seal/Open and Pad/Unpad are the steps.
package session
