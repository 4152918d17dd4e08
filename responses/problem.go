package responses

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/requests"
)

// ProblemContentType is the media type of problem details (RFC 9457).
const ProblemContentType = "application/problem+json"

// RequestIDHeader is the header that carries a request's ID; problem details
// repeat it so a client can quote it.
const RequestIDHeader = "X-Request-ID"

// Problem is an RFC 9457 problem details object, the body of every error
// answer.
type Problem struct {
	Type      string                `json:"type"`
	Title     string                `json:"title"`
	Status    int                   `json:"status"`
	Detail    string                `json:"detail,omitempty"`
	Instance  string                `json:"instance,omitempty"`
	RequestID string                `json:"request_id,omitempty"`
	Errors    []requests.FieldError `json:"errors,omitempty"`
}

// HTTPError is an error that chooses its HTTP status. Handlers make one with
// Error or Errorf; it keeps its status when wrapped with %w.
type HTTPError struct {
	Status int
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

// statusCoder is implemented by errors that choose their own status (a
// service's illegal lifecycle transition is a 409).
type statusCoder interface {
	StatusCode() int
}

// retryAfter is implemented by errors that say when to try again (the
// replica pool's overload errors).
type retryAfter interface {
	RetryAfter() time.Duration
}

// ProblemFor returns the problem details for err and the headers to send with
// them: a *requests.Error or an *HTTPError gives its status; an error with a
// StatusCode() int method gives that status and its text; an error with a
// RetryAfter() time.Duration method (the replica pool's overload) is a 503
// with Retry-After. Errors it does not know are a 500 with a generic detail: internals are
// never leaked. The second result reports whether the error is a server-side
// fault worth logging.
func ProblemFor(err error) (p Problem, h http.Header, internal bool) {
	var (
		he *HTTPError
		re *requests.Error
		ra retryAfter
		sc statusCoder
	)
	switch {
	case errors.As(err, &re):
		return New(re.Status, re.Detail, re.Fields), nil, false
	case errors.As(err, &he):
		if he.Status < 400 || he.Status > 599 {
			// Not an error status: a programming mistake, answered as any
			// unknown error, without its text.
			return New(http.StatusInternalServerError, "the server failed to handle the request", nil), nil, true
		}
		return New(he.Status, he.Detail, nil), he.Header, he.Status >= 500
	case errors.As(err, &sc) && sc.StatusCode() >= 400 && sc.StatusCode() <= 599:
		return New(sc.StatusCode(), err.Error(), nil), nil, sc.StatusCode() >= 500
	case errors.As(err, &ra):
		h := http.Header{}
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(ra.RetryAfter().Seconds()))))
		return New(http.StatusServiceUnavailable, err.Error(), nil), h, false
	case errors.Is(err, context.DeadlineExceeded):
		return New(http.StatusGatewayTimeout, "the request took too long", nil), nil, true
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		return New(499, "the client closed the request", nil), nil, false
	}
	return New(http.StatusInternalServerError, "the server failed to handle the request", nil), nil, true
}

// New returns problem details for a status: the status text as title.
func New(status int, detail string, fields []requests.FieldError) Problem {
	title := http.StatusText(status)
	if title == "" {
		title = "Client Closed Request"
	}
	return Problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Errors: fields}
}

// WriteProblem writes p as the answer (application/problem+json) with extra
// headers, fills in the request's path and ID, and aborts the gin chain.
func WriteProblem(c *gin.Context, p Problem, h http.Header) {
	for k, vs := range h {
		for _, v := range vs {
			c.Writer.Header().Add(k, v)
		}
	}
	if p.Instance == "" && c.Request != nil {
		p.Instance = c.Request.URL.Path
	}
	if p.RequestID == "" {
		p.RequestID = c.Writer.Header().Get(RequestIDHeader)
	}
	c.Abort()
	c.Render(p.Status, problemRender{p})
}

type problemRender struct{ p Problem }

func (r problemRender) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return jsonEncode(w, r.p)
}

func (r problemRender) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", ProblemContentType)
}
