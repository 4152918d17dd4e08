package requests

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// Limits on what an error repeats of the input: a value at most
// maxEchoedValue bytes, a message that may quote one (from a
// TextUnmarshaler or the JSON decoder) at most maxEchoedMessage. Longer
// ones end in "…", so a huge input is not sent back to its client.
const (
	maxEchoedValue   = 64
	maxEchoedMessage = 160
)

// clip cuts s to at most n bytes (on a character boundary), marking the
// cut with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// FieldError is one input that failed to bind or validate.
type FieldError struct {
	// Location says where the input was: its source and name, like
	// "query.my_int", "header.X-Key" or "body.items[0].name".
	Location string `json:"location"`
	// Message says what is wrong with it.
	Message string `json:"message"`
	// Rule is the validation rule that failed, if one did ("required",
	// "min", ...).
	Rule string `json:"rule,omitempty"`
}

// Error is a request that cannot be bound: its Status is 400 (malformed),
// 413 (too large), 415 (unsupported media type) or 422 (failed validation,
// with every failing field in Fields). The HTTP layer renders it as problem
// details.
type Error struct {
	Status int
	Detail string
	Fields []FieldError
	Err    error
}

// Error returns the detail, with the failing fields' locations.
func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Detail
	}
	var b strings.Builder
	b.WriteString(e.Detail)
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Location)
		b.WriteString(" ")
		b.WriteString(f.Message)
	}
	return b.String()
}

// StatusCode returns Status, the status the request is answered with
// (responses.StatusError).
func (e *Error) StatusCode() int { return e.Status }

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

func malformed(detail string, err error) *Error {
	return &Error{Status: http.StatusBadRequest, Detail: detail, Err: err}
}

func invalid(fields []FieldError) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Detail: "the request did not validate", Fields: fields}
}
