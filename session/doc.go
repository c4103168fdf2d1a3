// Package session is a Session messenger account as a Go value: a [Client] sends and receives
// end-to-end encrypted 1:1 messages, closed-group messages, community (SOGS) posts and blinded
// DMs, reactions, receipts and attachments, through 3-hop onion paths on Session's network.
//
// A bot that answers every message, until Ctrl-C:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//	defer stop()
//	client, err := session.NewClient(session.WithStore(st)) // st: sqlite.Open(ctx, "bot.db")
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer client.Close()
//	client.AddEventHandler(func(evt session.Event) {
//		switch e := evt.(type) {
//		case *session.Message:
//			if !e.Sync { // not our own message, sent from another device
//				client.SendText(ctx, e.From, "echo: "+e.Text, session.WithQuote(e.Ref()))
//			}
//		case *session.PollError:
//			log.Println("network:", e.Err)
//		}
//	})
//	if err := client.Run(ctx); err != nil { // nil when ctx ends
//		log.Fatal(err)
//	}
//
// # The Client
//
// [NewClient] chooses the account from its options (WithRecoveryPassword, WithKeys, WithSeed,
// WithAccount, or the store's only account, or a new one) and does no I/O. [Client.Run] polls the
// account's swarm, its groups and its community rooms and delivers what arrives as [Event]
// values to the handlers of [Client.AddEventHandler] (or a [Client.Subscribe] channel); the Send
// methods (SendText, SendAttachments, SendGroupText, SendCommunityMessage, React, ...) work with
// or without Run. With a store (WithStore and package store/sqlite) nothing is lost or delivered
// twice across restarts; a handler that fails ([Client.AddEventHandlerE]) or panics gets the
// event again, up to WithMaxDeliveries times.
//
// Events are a sealed interface: a type switch over *Message, *GroupMessage,
// *CommunityMessage, *PollError and the others listed at [Event] covers every case.
//
// # The network
//
// Without options a Client reaches mainnet through onion paths. [NetworkConfig] names another
// network (seeds, CA, file server, path rules); [LoadNetworkConfig] and [NetworkConfigFromEnv]
// read one from the network file that `sessionctl devnet` writes, so that connecting to a devnet
// is one line. Many clients can share one [Network] (WithNetwork). A client configured for a
// devnet never contacts anything outside it ([ErrOutsideNetwork]).
//
// # The message level
//
// Underneath, the package also exposes the bytes: sending a message is
//
//	base64( WebSocketMessage{REQUEST, request{verb, path, body: Envelope{
//	    SESSION_MESSAGE, timestamp, sourceDevice 1,
//	    content: Seal(Pad(Content{..., sigTimestamp = timestamp}))}}} )
//
// [EncodeMessage] and [DecodeMessage] do the whole walk; [Seal]/[Open] and [Pad]/[Unpad] are the
// steps.
package session
