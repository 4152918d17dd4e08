package responses

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/requests"
)

// ProblemContentType is the media type of problem details (RFC 9457).
const ProblemContentType = "application/problem+json"

// RequestIDHeader is the header that carries a request's ID; problem details
// repeat it so a client can quote it.
const RequestIDHeader = "X-Request-ID"

// StatusClientClosedRequest is the status recorded when the client went
// away before the answer (nginx's 499); nobody reads that answer.
const StatusClientClosedRequest = 499

// internalDetail is the detail of every answer to an error the client must
// not learn about.
const internalDetail = "the server failed to handle the request"

// Problem is an RFC 9457 problem details object, the body of every error
// answer.
type Problem struct {
	// Type identifies the kind of problem; "about:blank" means the status
	// says it all.
	Type string `json:"type"`
	// Title is the status text.
	Title string `json:"title"`
	// Status is the HTTP status.
	Status int `json:"status"`
	// Detail says what went wrong with this request, for its client.
	Detail string `json:"detail,omitempty"`
	// Instance is the path of the request.
	Instance string `json:"instance,omitempty"`
	// RequestID is the request's X-Request-ID, for a client to quote.
	RequestID string `json:"request_id,omitempty"`
	// Errors lists the inputs that failed to bind or validate.
	Errors []requests.FieldError `json:"errors,omitempty"`
}

// StatusError is an error that chooses the HTTP status it is answered with.
// ProblemFor answers one with its StatusCode and its text as the detail
// (an *HTTPError with its Detail, a *requests.Error with its Detail and
// Fields), also when it is wrapped with %w. A StatusCode outside 400-599
// is a programming mistake, answered as a generic 500. Implement it on your
// own error types to choose their status.
type StatusError interface {
	error
	StatusCode() int
}

// RetryAfterError is an error that says when the client may try again, such
// as the replica pool's overload errors. ProblemFor answers one with 503
// Service Unavailable and a Retry-After header, unless it is also a
// StatusError, whose status then wins (the Retry-After is still sent).
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// HTTPError is an error that chooses its HTTP status. Handlers make one with
// Error or Errorf; it keeps its status when wrapped with %w.
type HTTPError struct {
	// Status is the status to answer with, 400 to 599.
	Status int
	// Detail is sent to the client as the problem's detail.
	Detail string
	// Header is added to the answer (e.g. WWW-Authenticate, Retry-After).
	Header http.Header
	// Err is the cause, kept for logs and errors.Is; it is not sent.
	Err error
}

// Error returns the status and the detail.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Detail)
}

// StatusCode returns the status the error answers with (StatusError).
func (e *HTTPError) StatusCode() int { return e.Status }

// Unwrap returns the cause.
func (e *HTTPError) Unwrap() error { return e.Err }

// Error returns an error that answers with status and detail, sent to the
// client as problem details.
func Error(status int, detail string) error {
	return &HTTPError{Status: status, Detail: detail}
}

// Errorf is Error with a formatted detail. A %w verb keeps the cause for logs;
// the detail sent is the formatted text.
func Errorf(status int, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &HTTPError{Status: status, Detail: err.Error(), Err: errors.Unwrap(err)}
}

// Invalid returns an error that answers 422 Unprocessable Entity with field
// errors, as a request that fails its `binding` rules is answered: for the
// checks only a handler can make. Give a location and a message, then more
// pairs for more fields:
//
//	return nil, responses.Invalid("file.image", "not a PNG")
//	return nil, responses.Invalid("body.start", "must be before end", "body.end", "must be after start")
//
// A location names the input as binding does: its source and name
// ("body.items[0].name", "query.page", "file.image"). An odd number of
// strings is a programming mistake, and panics.
func Invalid(location, message string, more ...string) error {
	if len(more)%2 != 0 {
		panic("replicaflow: responses.Invalid wants location, message pairs; the last location has no message")
	}
	fields := make([]requests.FieldError, 0, 1+len(more)/2)
	fields = append(fields, requests.FieldError{Location: location, Message: message})
	for i := 0; i < len(more); i += 2 {
		fields = append(fields, requests.FieldError{Location: more[i], Message: more[i+1]})
	}
	return &requests.Error{Status: http.StatusUnprocessableEntity, Detail: "the request did not validate", Fields: fields}
}

// ProblemFor returns the problem details for err and the headers to send with
// them:
//   - a StatusError (*HTTPError, *requests.Error, or your own type) gives its
//     status and detail, and a Retry-After when it is also a RetryAfterError;
//   - a RetryAfterError (the replica pool's overload) is a 503 with
//     Retry-After;
//   - context.DeadlineExceeded is a 504, context.Canceled a 499 (the client
//     went away);
//   - any other error is a 500 with a generic detail: internals are never
//     leaked.
//
// Details taken from error texts never carry the module's "replicaflow: "
// prefix. The third result reports whether the error is a server-side fault
// worth logging.
func ProblemFor(err error) (p Problem, h http.Header, internal bool) {
	var (
		se StatusError
		ra RetryAfterError
	)
	switch {
	case errors.As(err, &se):
		return statusProblem(err, se)
	case errors.As(err, &ra):
		return NewProblem(http.StatusServiceUnavailable, clientText(err.Error()), nil), RetryAfter(ra.RetryAfter()), false
	case errors.Is(err, context.DeadlineExceeded):
		return NewProblem(http.StatusGatewayTimeout, "the request took too long", nil), nil, true
	case errors.Is(err, context.Canceled):
		return NewProblem(StatusClientClosedRequest, "the client closed the request", nil), nil, false
	}
	return NewProblem(http.StatusInternalServerError, internalDetail, nil), nil, true
}

// statusProblem is ProblemFor for err, whose chain holds se.
func statusProblem(err error, se StatusError) (Problem, http.Header, bool) {
	status := se.StatusCode()
	if status < 400 || status > 599 {
		// Not an error status: a programming mistake, answered as any
		// unknown error, without its text.
		return NewProblem(http.StatusInternalServerError, internalDetail, nil), nil, true
	}
	var (
		detail string
		fields []requests.FieldError
		h      http.Header
	)
	switch e := se.(type) {
	case *HTTPError:
		detail, h = e.Detail, e.Header
	case *requests.Error:
		detail, fields = e.Detail, e.Fields
	default:
		detail = err.Error()
	}
	if ra, ok := se.(RetryAfterError); ok {
		h = h.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Retry-After", retryAfterSeconds(ra.RetryAfter()))
	}
	return NewProblem(status, clientText(detail), fields), h, status >= 500
}

// clientText removes the module's prefix, which speaks to the program's
// author, from a text sent to a client.
func clientText(s string) string {
	return strings.ReplaceAll(s, "replicaflow: ", "")
}

// RetryAfter returns the header that asks a client to wait d before it tries
// again: Retry-After in whole seconds, rounded up, at least 1. It is the one
// rule every 503 of the module follows.
func RetryAfter(d time.Duration) http.Header {
	return http.Header{"Retry-After": {retryAfterSeconds(d)}}
}

func retryAfterSeconds(d time.Duration) string {
	secs := max(1, (d+time.Second-1)/time.Second)
	return strconv.FormatInt(int64(secs), 10)
}

// NewProblem returns problem details for a status, with the status text as
// title.
func NewProblem(status int, detail string, fields []requests.FieldError) Problem {
	title := http.StatusText(status)
	if title == "" {
		title = "Client Closed Request"
		if status != StatusClientClosedRequest {
			title = "Status " + strconv.Itoa(status)
		}
	}
	return Problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Errors: fields}
}

// WriteProblem writes p as the answer to r: application/problem+json,
// X-Content-Type-Options: nosniff and, for an error status, Cache-Control:
// no-store. It fills in the instance (r's path) and the request ID (the
// answer's X-Request-ID header) when p has none. The values of h replace
// those of the same keys. r may be nil for an answer that is not to an HTTP
// request. Write a problem before anything else of the answer.
func WriteProblem(w http.ResponseWriter, r *http.Request, p Problem, h http.Header) {
	wh := w.Header()
	wh.Set("Content-Type", ProblemContentType)
	wh.Set("X-Content-Type-Options", "nosniff")
	if p.Status >= 400 {
		wh.Set("Cache-Control", "no-store")
	}
	for k, vs := range h {
		wh.Del(k)
		for _, v := range vs {
			wh.Add(k, v)
		}
	}
	if p.Instance == "" && r != nil && r.URL != nil {
		p.Instance = r.URL.Path
	}
	if p.RequestID == "" {
		p.RequestID = wh.Get(RequestIDHeader)
	}
	body, _ := json.Marshal(p) // strings and ints: it cannot fail
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// AbortWithProblem is WriteProblem for gin: it writes p as the answer to the
// context's request and aborts the handler chain.
func AbortWithProblem(c *gin.Context, p Problem, h http.Header) {
	c.Abort()
	WriteProblem(c.Writer, c.Request, p, h)
}
