// Package groups implements the cryptography and wire formats of Session closed groups v2
// ("03" groups): group identity, multi-recipient encryption, subaccount tokens for members'
// storage requests, group key messages (rekey, supplemental keys, reading them), group message
// encryption, and the config-message machinery shared by group Info/Members and the four user
// configs (serialization, signatures, diffs and merges with libsession's rules, padding,
// encryption, compression), with typed models of the user configs: UserProfile, Contacts,
// ConvoInfoVolatile and UserGroups.
//
// It is written from the project's groups specification and checked byte for byte against
// vectors captured from the official library; it contains no network code. The Client that
// polls and pushes these messages lives in package session.
//
// Naming: the group's Ed25519 key pair is (C, c); its ID is "03" + hex(C). Key derivations use
// the X25519 conversion of that pair. Members are identified by their 05 Account IDs.
package groups
