// Package openapi describes a flow's endpoints as an OpenAPI 3.0.3 document,
// built at run time from the endpoints' Go types, and serves it with a
// Swagger UI page that needs no network.
//
// The package does not know the core types: the flow hands it one Operation
// per endpoint (method, full path, request and response types). Build turns
// them into a kin-openapi document; Spec caches the document's JSON between
// changes of the set of services and serves it; Docs serves Swagger UI 5,
// its assets embedded in the binary, pointed at the document by a relative
// URL, so both keep working when the application is mounted under a prefix.
//
// # What the document says
//
// Parameters come from the request type's path, query, header and cookie
// tags (the binding plan of package requests is the single source of the
// tag rules), JSON bodies from its other fields, form bodies from its form
// and file tags. `binding:"required"` makes a field required (it must be
// sent; 0, false and "" are values), `default:"20"` is the parameter's
// default, and `doc:"..."` and `example:"..."` become its description and
// example. The validator rules oneof, min, max, len, gt, gte, lt, lte,
// email, url and uuid become enums, bounds and formats; alpha, alphanum,
// numeric, number and hexadecimal become the patterns the validator
// matches, and a time.Duration parameter gets the pattern of
// time.ParseDuration. Named struct types become component schemas; a name
// shared by types of different packages is qualified by the package
// ("models.User"), and generic types get flat names (Page[x.User] is
// "PageUser"). The response type chooses the content: a plain value is
// JSON, the types of package responses their own media types: File and
// Streaming as any type ("*/*") unless Operation.ContentType names the one
// they send (a File also with its 206, 304, 404 and 416), a Redirect with
// the operation's 3xx status (307 by default). In an answer, the fields
// encoding/json always writes are required; nil slices and maps are
// nullable, since they go out as null.
// Every operation documents problem details (RFC 9457) for the errors the
// framework can answer with, and for those listed in Operation.Errors.
//
// Nil slices and maps are sent as null, as encoding/json writes them, so
// their schemas are nullable, except for fields that cannot be null: those
// tagged omitempty or omitzero (left out instead) and those
// `binding:"required"` (sent with a value). An interface or a
// json.RawMessage is {}, which allows any value, null included.
//
// # Framing
//
// Info carries the title and version (by default the binary's name and its
// main module's version, see DefaultInfo), the servers and the security
// schemes. A flow lists one server relative to the document's own URL (".")
// so that Swagger UI's "Try it out" and generated clients reach the API
// under any path prefix. Security schemes are declared by name (BearerAuth,
// APIKeyCookie, ...); Info.Security is the default requirement and
// Operation.Security overrides it, an empty list marking an operation
// public. Operations without a summary get one from the method and route
// ("GET /users/:id" is "Get users by id").
package openapi
