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
// body. Validation uses `binding:"..."` tags (go-playground/validator, as gin).
// A request type that is not a struct (a slice, a map, a number) is the JSON
// body as a whole, and Request gives the raw request with no binding at all.
//
// The binding plan is computed once per type by NewPlan; binding a request
// then only walks the plan.
package requests
