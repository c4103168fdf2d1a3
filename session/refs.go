package session

import "time"

// Ref returns the reference to quote this community message (WithQuote in
// SendCommunityMessage): its author as the room shows them (blinded) and its posted time in
// milliseconds, as Session apps quote community messages.
func (m *CommunityMessage) Ref() MessageRef {
	return MessageRef{Author: m.From, Timestamp: time.UnixMilli(m.Posted.UnixMilli())}
}
