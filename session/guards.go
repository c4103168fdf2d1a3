package session

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors of message texts: match them with errors.Is; a *TextError carries the details.
var (
	// ErrEmptyText: a text message whose text is empty or only white space (Session apps show
	// nothing for it). With attachments the text may be empty.
	ErrEmptyText = errors.New("session: the message text is empty")
	// ErrInvalidText: a text that is not valid UTF-8 (Session apps would show it garbled).
	ErrInvalidText = errors.New("session: the message text is not valid UTF-8")
)

// TextError reports a text that was refused before anything was sent. Err is ErrEmptyText or
// ErrInvalidText; Offset is the byte offset of the first invalid UTF-8 sequence.
type TextError struct {
	Err    error
	Offset int
}

func (e *TextError) Error() string {
	if errors.Is(e.Err, ErrInvalidText) {
		return fmt.Sprintf("%v (invalid byte at offset %d)", e.Err, e.Offset)
	}
	return e.Err.Error()
}

func (e *TextError) Unwrap() error { return e.Err }

// checkText refuses a text that is not UTF-8, and, when required (a message with nothing else),
// one that is empty or only white space.
func checkText(text string, required bool) error {
	if !utf8.ValidString(text) {
		off := 0
		for off < len(text) {
			r, n := utf8.DecodeRuneInString(text[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return &TextError{Err: ErrInvalidText, Offset: off}
	}
	if required && strings.TrimSpace(text) == "" {
		return &TextError{Err: ErrEmptyText}
	}
	return nil
}

// checkOpen fails with ErrClosed once Close was called: a closed client sends and polls
// nothing, even when its Network (shared with WithNetwork) is still open.
func (c *Client) checkOpen() error {
	if c.closed.Load() {
		return ErrClosed
	}
	return nil
}
