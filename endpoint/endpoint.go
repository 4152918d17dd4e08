// Package endpoint turns typed Go functions into HTTP handlers: it binds the
// request into the function's input type, runs the function on a replica of
// its service, and renders its output or error.
package endpoint

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/requests"
)

// Func is the typed function behind an endpoint. It gets the bound,
// validated input and returns the output to render or an error.
type Func[Req, Resp any] func(ctx context.Context, in Req) (Resp, error)

// Endpoint is one route of a service: a method, a route below the service's
// base route, and a typed handler. Make one with New; its exported fields
// describe it (for documentation and status) and must not be changed once
// it is added to a service.
type Endpoint struct {
	// Method is the HTTP method, upper case.
	Method string
	// Route is the path below the service's base route, in gin syntax
	// ("/users/:id", "/files/*path"); "{id}" in New's route becomes ":id".
	Route string
	// Request and Response are the handler's input and output types.
	Request, Response reflect.Type
	// Plan is how the request binds.
	Plan *requests.Plan
	// Status is the success status (default 200).
	Status int
	// Summary, Description, Tags, OperationID and Deprecated document the
	// endpoint.
	Summary, Description string
	Tags                 []string
	OperationID          string
	Deprecated           bool
	// Errors are the error statuses the handler answers with, documented
	// with the problem details schema (see Errors).
	Errors []int
	// Security names the security schemes the endpoint requires: nil for
	// the flow's default, empty for none (see Security).
	Security []string
	// ContentType documents the media type of a File or Streaming answer.
	ContentType string
	// WebSocket reports that the endpoint upgrades to a WebSocket.
	WebSocket bool
	// BodyLimit caps the request body in bytes: 0 means
	// requests.DefaultBodyLimit, negative means none.
	BodyLimit int64

	serve func(c *gin.Context, h Host)
	ws    *wsConfig // a WebSocket endpoint's settings, nil for HTTP
}

// Option configures an endpoint.
type Option func(*Endpoint)

// Status sets the success status, e.g. http.StatusCreated.
func Status(code int) Option {
	if code < 100 || code > 599 {
		panic(fmt.Sprintf("replicaflow: endpoint status %d is not an HTTP status", code))
	}
	return func(e *Endpoint) { e.Status = code }
}

// Summary sets the one-line summary shown in the docs.
func Summary(s string) Option { return func(e *Endpoint) { e.Summary = s } }

// Description sets the longer description shown in the docs.
func Description(s string) Option { return func(e *Endpoint) { e.Description = s } }

// Tags adds documentation tags (the service's name is always one).
func Tags(tags ...string) Option { return func(e *Endpoint) { e.Tags = append(e.Tags, tags...) } }

// OperationID sets the OpenAPI operation ID (by default derived from the
// service, method and route).
func OperationID(id string) Option { return func(e *Endpoint) { e.OperationID = id } }

// Deprecated marks the endpoint deprecated in the docs.
func Deprecated() Option { return func(e *Endpoint) { e.Deprecated = true } }

// Errors documents error statuses the handler answers with (404, 401,
// 409, ...), each with the problem details schema, so that generated
// clients know them. The framework's own (400, 413, 415, 422, 500, 503) are
// documented without it. It panics on a status that is not 4xx or 5xx.
func Errors(codes ...int) Option {
	for _, code := range codes {
		if code < 400 || code > 599 {
			panic(fmt.Sprintf("replicaflow: endpoint error status %d is not a 4xx or 5xx status", code))
		}
	}
	return func(e *Endpoint) { e.Errors = append(e.Errors, codes...) }
}

// Security documents the security schemes the endpoint requires, by the
// names the flow declared them under (flow.Security): any one of them is
// enough. With no names the endpoint is public, whatever the flow's
// default. It documents what the endpoint's middleware enforces; it does
// not check credentials itself.
func Security(names ...string) Option {
	return func(e *Endpoint) { e.Security = append([]string{}, names...) }
}

// ContentType documents the media type of a responses.File or
// responses.Streaming answer, which is otherwise documented as any type.
// It panics on a value that is not a media type.
func ContentType(mediaType string) Option {
	if mediaType == "" || !strings.Contains(mediaType, "/") {
		panic("replicaflow: endpoint content type " + strconv.Quote(mediaType) + " is not a media type like image/png")
	}
	return func(e *Endpoint) { e.ContentType = mediaType }
}

// BodyLimit caps the request body at n bytes, raw requests.Request bodies
// included; a larger body is answered 413.
// A negative n removes the cap.
func BodyLimit(n int64) Option { return func(e *Endpoint) { e.BodyLimit = n } }

// RefuseUnknownFields makes the endpoint answer 422 to a JSON body that
// holds a field its request type does not declare, naming the field. By
// default such a field is ignored, as encoding/json ignores it; a request
// type can ask the same for every endpoint by implementing
// requests.StrictJSON.
func RefuseUnknownFields() Option { return func(e *Endpoint) { e.Plan.RefuseUnknown = true } }

var (
	methodRE = regexp.MustCompile(`^[A-Z]+$`)
	braceRE  = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// New makes an endpoint from a typed function. It panics, with a message
// that says why, when the method or route is malformed or when the request
// type cannot bind (see package requests).
func New[Req, Resp any](method, route string, h Func[Req, Resp], opts ...Option) *Endpoint {
	e := newEndpoint("endpoint", method, route, reflect.TypeFor[Req](), reflect.TypeFor[Resp](), h == nil)
	for _, o := range opts {
		o(e)
	}
	e.serve = adapter(e, h)
	return e
}

// newEndpoint does the checks every kind of endpoint shares, naming it kind
// in its panics: a handler, an HTTP method, a route that starts with /, a
// request type that binds, and a path parameter in the route for each path
// field. It converts "{id}" in the route to gin's ":id".
func newEndpoint(kind, method, route string, req, resp reflect.Type, nilHandler bool) *Endpoint {
	method = strings.ToUpper(strings.TrimSpace(method))
	if nilHandler {
		panic(fmt.Sprintf("replicaflow: %s %s %s: nil handler", kind, method, route))
	}
	if !methodRE.MatchString(method) {
		panic(fmt.Sprintf("replicaflow: %s %q %s: the method must be an HTTP method like GET or POST", kind, method, route))
	}
	if route == "" {
		route = "/"
	}
	if !strings.HasPrefix(route, "/") {
		panic(fmt.Sprintf("replicaflow: %s %s %q: the route must start with /", kind, method, route))
	}
	route = braceRE.ReplaceAllString(route, ":$1")
	plan, err := requests.NewPlan(req)
	if err != nil {
		panic(fmt.Sprintf("replicaflow: %s %s %s: %v", kind, method, route, err))
	}
	params := routeParams(route)
	for _, f := range plan.Fields {
		if f.Source == requests.Path && !slices.Contains(params, f.Key) {
			panic(fmt.Sprintf("replicaflow: %s %s %s: field %s binds path parameter %q, which the route does not have", kind, method, route, f.Name, f.Key))
		}
	}
	return &Endpoint{Method: method, Route: route, Request: req, Response: resp, Plan: plan, Status: http.StatusOK}
}

// routeParams returns the names of the parameters in a gin route, in order.
func routeParams(route string) []string {
	var names []string
	for seg := range strings.SplitSeq(route, "/") {
		if len(seg) > 1 && (seg[0] == ':' || seg[0] == '*') {
			names = append(names, seg[1:])
		}
	}
	return names
}

// Handler returns the gin handler that serves the endpoint on host.
func (e *Endpoint) Handler(h Host) gin.HandlerFunc {
	serve := e.serve
	return func(c *gin.Context) { serve(c, h) }
}

// String returns "METHOD route".
func (e *Endpoint) String() string { return e.Method + " " + e.Route }
