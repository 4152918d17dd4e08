// Package requests binds HTTP requests to typed Go values.
//
// The request type of an endpoint decides how a request binds. A struct binds
// field by field from its tags:
//
//	path:"id"        a path parameter (":id" in the route)
//	query:"q"        a query parameter
//	header:"X-Key"   a request header
//	cookie:"c"       a cookie
//	form:"f"         a form field (urlencoded or multipart)
//	file:"upload"    an uploaded file: *UploadFile or []*UploadFile
//
// Exported fields with none of those tags (and not `json:"-"`) make up the JSON
// body. A request type that is not a struct (a slice, a map, a number) is the
// JSON body as a whole, and Request gives the raw request with no binding at
// all. The tags above take a name only: an option after it
// (`query:"page,default=1"`) is an error when the plan is made.
//
// More tags describe a field:
//
//	default:"20"        the value bound when a query, header, cookie or form field is not sent
//	doc:"the page size"  its description in the OpenAPI document
//	example:"50"        an example value in the OpenAPI document
//
// # Rules
//
// Validation uses `binding:"..."` tags (go-playground/validator, as gin), with
// one difference, as in FastAPI: on the request type's own fields (its
// parameters and the top-level fields of its JSON body) "required" means
// sent. A required field that is not sent (or is JSON null) fails with "is
// required"; 0, false and "" are values when they are sent, and pass. To
// refuse them, say so with a rule, which the OpenAPI document shows too:
// min=1 for a non-empty string or list, gt=0 or ne=0 for a number. A field
// that is not sent is not checked against its other rules: it keeps its zero
// value or its default. Inside nested objects of a body, "required" keeps the
// validator's meaning: not the zero value.
//
// # Unknown JSON fields
//
// A JSON body's fields that the request type does not declare are ignored,
// as encoding/json ignores them. A request type that implements StrictJSON,
// or an endpoint made with endpoint.RefuseUnknownFields, answers such a body
// 422 naming the field. DecodeJSON always refuses them.
//
// # Errors
//
// A request that cannot bind is an *Error: 400 for a malformed body, 413 for
// one too large, 415 for one of the wrong media type, 422 listing every
// field that failed, each with its location ("query.page", "body.items[0]")
// and a message in words ("not an integer", "not an RFC 3339 time", "is
// required"). A handler answers the same way with responses.Invalid.
//
// The binding plan is computed once per type by NewPlan; binding a request
// then only walks the plan. A JSON body is read into a pooled buffer and
// decoded with encoding/json; whether a field was sent is asked of the body
// only when a required or failing field holds its zero value.
package requests
