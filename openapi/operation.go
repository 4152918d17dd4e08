package openapi

import (
	"reflect"
	"strings"

	"github.com/replicaflow/replicaflow/requests"
)

// Operation describes one endpoint for Build. It holds plain values so that
// this package does not depend on the core: the flow makes one per endpoint.
type Operation struct {
	// Service is the name of the endpoint's service; it becomes a tag.
	Service string
	// Method is the HTTP method: GET, POST, ...
	Method string
	// Path is the full route, base route included, in gin's syntax:
	// "/users/:id", "/files/*path".
	Path string
	// OperationID names the operation; when empty, Build derives a unique,
	// stable one from the method and the path ("get-users-by-id").
	OperationID string
	// Summary and Description document the operation.
	Summary, Description string
	// Tags are added after the service's tag.
	Tags []string
	// Deprecated marks the operation as deprecated.
	Deprecated bool
	// Request is the handler's request type: nil for no input,
	// requests.Request for the raw request (any body, nothing described).
	Request reflect.Type
	// Plan is how Request binds, as made when the endpoint was registered
	// (endpoint.Endpoint.Plan). When nil, Build makes it from Request; it is
	// not used when Request is nil.
	Plan *requests.Plan
	// Response is the handler's response type. Plain values are JSON; the
	// types of package responses have their own media types; interfaces can
	// be anything.
	Response reflect.Type
	// Status is the success status; 0 means 200.
	Status int
	// WebSocket documents a GET that upgrades to a WebSocket (101).
	WebSocket bool
	// ContentType is the media type of the success answer when the
	// response type does not fix it (responses.File, responses.Streaming):
	// by default those are documented as any type ("*/*").
	ContentType string
	// Errors are the error statuses the handler answers with besides the
	// framework's own (400, 422, 500, 503, ...): each is documented with the
	// problem details schema.
	Errors []int
	// Security names the security schemes (of Info.SecuritySchemes) the
	// operation requires, any one of them being enough. nil means the
	// document's default (Info.Security); an empty, non-nil slice means
	// none: the operation is public.
	Security []string
}

// summary derives a summary from the method and the route, as huma does:
// GET /users/:id is "Get users by id", GET / is "Get root".
func summary(method, route string) string {
	words := strings.Split(operationID(method, route), "-")
	s := strings.Join(words, " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// OpenAPIPath converts a gin route to an OpenAPI path template and returns
// the names of its parameters in order: "/users/:id/*rest" is
// "/users/{id}/{rest}" with ["id", "rest"].
func OpenAPIPath(route string) (string, []string) {
	segs := strings.Split(route, "/")
	var params []string
	for i, s := range segs {
		if len(s) > 1 && (s[0] == ':' || s[0] == '*') {
			params = append(params, s[1:])
			segs[i] = "{" + s[1:] + "}"
		}
	}
	p := strings.Join(segs, "/")
	if p == "" {
		p = "/"
	}
	return p, params
}

// operationID derives an ID from the method and the route, as huma does:
// GET /users/:id is "get-users-by-id", GET / is "get-root".
func operationID(method, route string) string {
	parts := []string{strings.ToLower(method)}
	for s := range strings.SplitSeq(route, "/") {
		switch {
		case s == "":
		case s[0] == ':' || s[0] == '*':
			parts = append(parts, "by", slug(s[1:]))
		default:
			parts = append(parts, slug(s))
		}
	}
	if len(parts) == 1 {
		parts = append(parts, "root")
	}
	return strings.Join(parts, "-")
}

// slug keeps letters and digits, lower-cased, and turns runs of anything
// else into one dash.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}
