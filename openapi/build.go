package openapi

import (
	"cmp"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"

	"github.com/replicaflow/replicaflow/openapi/oas"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

// Version is the OpenAPI version of the documents Build makes.
const Version = "3.0.3"

// methods OpenAPI 3.0 has a slot for; an endpoint on another method is left
// out of the document.
var methods = []string{
	http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete,
	http.MethodOptions, http.MethodHead, http.MethodPatch, http.MethodTrace,
}

// Build returns the OpenAPI 3.0.3 document of ops. The same operations give
// the same document, whatever their order. It returns an error when two
// operations share a method and path or an explicit operation ID, or when a
// type cannot be described (a request type NewPlan rejects, a channel or a
// function where JSON is expected).
func Build(info Info, ops []Operation) (*oas.Document, error) {
	info = info.withDefaults()
	doc := &oas.Document{
		OpenAPI: Version,
		Info: &oas.Info{
			Title:       info.Title,
			Version:     info.Version,
			Description: info.Description,
		},
		Paths:      map[string]*oas.PathItem{},
		Components: &oas.Components{Schemas: map[string]*oas.Schema{}},
	}
	for _, u := range info.Servers {
		doc.Servers = append(doc.Servers, &oas.Server{URL: u})
	}
	if err := security(doc, info); err != nil {
		return nil, err
	}

	ops = slices.Clone(ops)
	slices.SortStableFunc(ops, func(a, b Operation) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method), cmp.Compare(a.Service, b.Service))
	})
	ids, err := operationIDs(ops)
	if err != nil {
		return nil, err
	}

	in := newSchemas()
	b := &builder{in: in, out: in.responses()}
	tags := map[string]bool{}
	seen := map[string]bool{}
	for i, op := range ops {
		if !slices.Contains(methods, op.Method) {
			continue
		}
		path, params := OpenAPIPath(op.Path)
		if key := op.Method + " " + path; seen[key] {
			return nil, fmt.Errorf("openapi: two operations for %s", key)
		} else {
			seen[key] = true
		}
		o, err := b.operation(op, params)
		if err == nil {
			err = operationSecurity(o, op, info)
		}
		if err != nil {
			return nil, fmt.Errorf("openapi: %s %s: %w", op.Method, op.Path, err)
		}
		o.OperationID = ids[i]
		for _, t := range o.Tags {
			tags[t] = true
		}
		item := doc.Paths[path]
		if item == nil {
			item = &oas.PathItem{}
			doc.Paths[path] = item
		}
		item.SetOperation(op.Method, o)
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for t := range tags {
			if !yield(t) {
				return
			}
		}
	}) {
		doc.Tags = append(doc.Tags, &oas.Tag{Name: name})
	}
	b.in.finish(doc.Components.Schemas)
	return doc, nil
}

// operationIDs returns the ID of each of ops (sorted): the explicit ones,
// which must be unique, then derived ones, numbered when they clash.
func operationIDs(ops []Operation) ([]string, error) {
	ids := make([]string, len(ops))
	used := map[string]bool{}
	for i, op := range ops {
		if op.OperationID == "" {
			continue
		}
		if used[op.OperationID] {
			return nil, fmt.Errorf("openapi: operation ID %q is used twice", op.OperationID)
		}
		used[op.OperationID] = true
		ids[i] = op.OperationID
	}
	for i, op := range ops {
		if ids[i] != "" {
			continue
		}
		id := operationID(op.Method, op.Path)
		for n := 2; used[id]; n++ {
			id = operationID(op.Method, op.Path) + "-" + strconv.Itoa(n)
		}
		used[id] = true
		ids[i] = id
	}
	return ids, nil
}

type builder struct {
	in, out *schemas // the schemas of what the server reads and writes
}

func (b *builder) operation(op Operation, pathParams []string) (*oas.Operation, error) {
	o := &oas.Operation{}
	o.Summary, o.Description, o.Deprecated = op.Summary, op.Description, op.Deprecated
	if o.Summary == "" {
		o.Summary = summary(op.Method, op.Path)
	}
	if op.Service != "" {
		o.Tags = append(o.Tags, op.Service)
	}
	for _, t := range op.Tags {
		if t != "" && !slices.Contains(o.Tags, t) {
			o.Tags = append(o.Tags, t)
		}
	}

	var plan *requests.Plan
	if op.Request != nil {
		plan = op.Plan
	}
	if op.Request != nil && plan == nil {
		var err error
		if plan, err = requests.NewPlan(op.Request); err != nil {
			return nil, err
		}
	}
	if err := b.parameters(o, plan, pathParams); err != nil {
		return nil, err
	}
	if err := b.requestBody(o, plan, op.Method); err != nil {
		return nil, err
	}
	return o, b.responses(o, op, plan)
}

// parameters adds the path parameters of the route (typed by the request
// type's path fields when it has them) and the query, header and cookie
// parameters of the request type.
func (b *builder) parameters(o *oas.Operation, plan *requests.Plan, pathParams []string) error {
	fields := map[string]*requests.Field{}
	if plan != nil {
		for i := range plan.Fields {
			if f := &plan.Fields[i]; f.Source == requests.Path {
				fields[f.Key] = f
			}
		}
	}
	for _, name := range pathParams {
		p := &oas.Parameter{Name: name, In: "path", Required: true}
		if f := fields[name]; f != nil {
			p.Schema = b.paramSchema(plan.Type, f)
			paramDocs(p, p.Schema, f)
		} else {
			p.Schema = typed("string")
		}
		o.Parameters = append(o.Parameters, p)
	}
	if plan == nil {
		return nil
	}
	for i := range plan.Fields {
		f := &plan.Fields[i]
		var in string
		switch f.Source {
		case requests.Query:
			in = "query"
		case requests.Header:
			in = "header"
		case requests.Cookie:
			in = "cookie"
		default:
			continue
		}
		p := &oas.Parameter{Name: f.Key, In: in, Required: f.Required, Schema: b.paramSchema(plan.Type, f)}
		paramDocs(p, p.Schema, f)
		o.Parameters = append(o.Parameters, p)
	}
	return nil
}

// paramSchema is the schema of a parameter or form field: its text form.
func (b *builder) paramSchema(owner reflect.Type, f *requests.Field) *oas.Schema {
	t := f.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var sc *oas.Schema
	if t.Kind() == reflect.Slice && special(t, true) == nil {
		sc = arrayOf(scalarParam(t.Elem()))
	} else {
		sc = scalarParam(t)
	}
	applyRules(sc, t, f.Binding)
	return sc
}

func scalarParam(t reflect.Type) *oas.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if sc := special(t, true); sc != nil {
		return sc
	}
	switch t.Kind() {
	case reflect.Bool:
		return typed("boolean")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return numberSchema(t)
	}
	return typed("string")
}

var (
	uploadListType = reflect.TypeFor[[]*requests.UploadFile]()
)

// requestBody adds the JSON or form body of the request type, or an opaque
// one for a raw request.
func (b *builder) requestBody(o *oas.Operation, plan *requests.Plan, method string) error {
	if plan == nil {
		return nil
	}
	rb := &oas.RequestBody{}
	switch {
	case plan.Raw:
		if method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete {
			return nil
		}
		rb.Description = "the raw request: any body"
		rb.Content = contentOf(formatted("string", "binary"), "*/*")
	case plan.Whole:
		t := plan.Type
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		ref, err := b.in.ref(t)
		if err != nil {
			return err
		}
		rb.Required = true
		rb.Content = jsonContent(ref)
	case plan.HasBody:
		ref, required, err := b.jsonBody(plan)
		if err != nil {
			return err
		}
		rb.Required = required
		rb.Content = jsonContent(ref)
	case plan.HasForm:
		sc := object()
		for i := range plan.Fields {
			f := &plan.Fields[i]
			switch f.Source {
			case requests.Form:
				ref := b.paramSchema(plan.Type, f)
				paramDocs(nil, ref, f)
				sc.Properties[f.Key] = ref
			case requests.File:
				file := formatted("string", "binary")
				if f.Type == uploadListType {
					file = arrayOf(file)
				}
				file.Description = f.Doc
				sc.Properties[f.Key] = file
			default:
				continue
			}
			if f.Required {
				sc.Required = append(sc.Required, f.Key)
				rb.Required = true
			}
		}
		types := []string{"application/x-www-form-urlencoded", "multipart/form-data"}
		if plan.HasFile {
			types = types[1:]
		}
		rb.Content = contentOf(sc, types...)
	default:
		return nil
	}
	o.RequestBody = rb
	return nil
}

// jsonBody is the schema of a struct's body fields: the type's component
// when every field is in the body, an object of those fields otherwise. A
// body that refuses unknown fields (Plan.RefuseUnknown) is always such an
// object, with additionalProperties false: the component may serve
// endpoints that ignore them.
func (b *builder) jsonBody(plan *requests.Plan) (*oas.Schema, bool, error) {
	required := false
	all := true
	for _, f := range plan.Fields {
		if f.Source != requests.Body {
			all = false
		} else if f.Required {
			required = true
		}
	}
	if all && isComponent(plan.Type) && !plan.RefuseUnknown {
		ref, err := b.in.ref(plan.Type)
		return ref, required, err
	}
	sc := object()
	for _, f := range plan.Fields {
		if f.Source != requests.Body {
			continue
		}
		ref, err := b.in.ref(f.Type)
		if err != nil {
			return nil, false, fmt.Errorf("%s.%s: %w", plan.Type, f.Name, err)
		}
		sf := plan.Type.FieldByIndex(f.Index)
		if hasOption(sf.Tag.Get("json"), "string") {
			ref = stringified(ref)
		}
		nilIsNull(ref, f.Type, f.Required || hasOption(sf.Tag.Get("json"), "omitempty") || hasOption(sf.Tag.Get("json"), "omitzero"))
		applyRules(ref, f.Type, f.Binding)
		sc.Properties[f.Key] = documented(ref, f.Doc, f.Example)
		if f.Required {
			sc.Required = append(sc.Required, f.Key)
		}
	}
	if plan.RefuseUnknown {
		sc.AdditionalProperties = &oas.Additional{None: true}
	}
	return sc, required, nil
}

func hasOption(tag, opt string) bool {
	_, opts, _ := cutComma(tag)
	for _, o := range splitComma(opts) {
		if o == opt {
			return true
		}
	}
	return false
}

var (
	responseType    = reflect.TypeFor[responses.Response]()
	bodyTyperType   = reflect.TypeFor[bodyTyper]()
	jsonRespType    = reflect.TypeFor[responses.JSON]()
	htmlType        = reflect.TypeFor[responses.HTML]()
	plainType       = reflect.TypeFor[responses.PlainText]()
	fileType        = reflect.TypeFor[responses.File]()
	redirectType    = reflect.TypeFor[responses.Redirect]()
	streamingType   = reflect.TypeFor[responses.Streaming]()
	eventStreamType = reflect.TypeFor[responses.EventStream]()
)

// responses adds the success answer and the problem details the framework
// can answer with: 400 and 422 when input binds, 413 and 415 when a body
// does, 426 for a WebSocket, 500 and 503 always.
func (b *builder) responses(o *oas.Operation, op Operation, plan *requests.Plan) error {
	o.Responses = map[string]*oas.Response{}
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	if op.WebSocket {
		addResponse(o, http.StatusSwitchingProtocols, &oas.Response{
			Description: "Switching Protocols: the connection is upgraded to a WebSocket"})
	} else {
		code, resp, err := b.success(op.Response, status, op.ContentType)
		if err != nil {
			return err
		}
		addResponse(o, code, resp)
	}

	problem, err := b.problem()
	if err != nil {
		return err
	}
	codes := []int{http.StatusInternalServerError, http.StatusServiceUnavailable}
	if rt := op.Response; rt != nil && !op.WebSocket {
		for rt.Kind() == reflect.Pointer {
			rt = rt.Elem()
		}
		if rt == fileType {
			fileResponses(o, op.ContentType)
			codes = append(codes, http.StatusNotFound)
		}
	}
	if op.WebSocket {
		codes = append(codes, http.StatusUpgradeRequired) // a request without an upgrade
	}
	if plan != nil && !plan.Raw {
		codes = append(codes, http.StatusBadRequest, http.StatusUnprocessableEntity)
		if plan.HasBody || plan.HasForm {
			codes = append(codes, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
		}
	}
	for _, code := range op.Errors {
		if code < 400 || code > 599 {
			return fmt.Errorf("error status %d is not a 4xx or 5xx status", code)
		}
		if !slices.Contains(codes, code) {
			codes = append(codes, code)
		}
	}
	for _, code := range codes {
		desc := problemDescriptions[code]
		if desc == "" {
			desc = cmp.Or(http.StatusText(code), "Error")
		}
		resp := &oas.Response{Description: desc, Content: contentOf(problem(), responses.ProblemContentType)}
		if code == http.StatusServiceUnavailable {
			resp.Headers = map[string]*oas.Header{"Retry-After": {
				Description: "seconds to wait before trying again",
				Schema:      typed("integer"),
			}}
		}
		addResponse(o, code, resp)
	}
	return nil
}

// fileResponses adds what net/http's file serving answers besides the
// file: a part of it (206, one range as the file's type, several as
// multipart/byteranges), 304 to a conditional request, and 416, as plain
// text, to a range past the end.
func fileResponses(o *oas.Operation, contentType string) {
	binary := formatted("string", "binary")
	partial := &oas.Response{
		Description: "Partial Content: the ranges the Range header asked for",
		Content:     contentOf(binary, cmp.Or(contentType, "*/*")),
		Headers: map[string]*oas.Header{"Content-Range": {
			Description: "the range sent, for a single range",
			Schema:      typed("string"),
		}},
	}
	if contentType != "" {
		partial.Content["multipart/byteranges"] = &oas.MediaType{Schema: binary}
	}
	addResponse(o, http.StatusPartialContent, partial)
	addResponse(o, http.StatusNotModified, &oas.Response{Description: "Not Modified: the copy the client holds is current"})
	addResponse(o, http.StatusRequestedRangeNotSatisfiable, &oas.Response{
		Description: "Range Not Satisfiable: no range of the Range header is in the file",
		Content:     contentOf(typed("string"), "text/plain"),
	})
}

// addResponse sets o's answer with status code.
func addResponse(o *oas.Operation, code int, r *oas.Response) {
	o.Responses[strconv.Itoa(code)] = r
}

var problemDescriptions = map[int]string{
	http.StatusBadRequest:            "Bad Request: the body or a parameter is malformed",
	http.StatusRequestEntityTooLarge: "Content Too Large: the body is over the endpoint's limit",
	http.StatusUnsupportedMediaType:  "Unsupported Media Type: the body is not of a type the endpoint reads",
	http.StatusUnprocessableEntity:   "Unprocessable Content: the input did not validate; errors lists each field",
	http.StatusUpgradeRequired:       "Upgrade Required: the endpoint speaks WebSocket; send an upgrade request",
	http.StatusInternalServerError:   "Internal Server Error",
	http.StatusServiceUnavailable:    "Service Unavailable: overloaded or shutting down; retry after Retry-After",
}

// problem registers the Problem component and returns a function that makes
// references to it.
func (b *builder) problem() (func() *oas.Schema, error) {
	if _, err := b.out.ref(problemType); err != nil {
		return nil, err
	}
	c := b.out.comps[compKey{problemType, true}]
	c.schema.Required = []string{"type", "title", "status"}
	c.schema.Description = "RFC 9457 problem details"
	return func() *oas.Schema {
		r, _ := b.out.componentRef(problemType)
		return r
	}, nil
}

// success is the answer of a handler that returns a value of type t, with
// contentType (when set) as the media type of the types that do not fix
// one.
// bodyTyper is a response that renders a typed body as JSON
// (responses.Reply[T]): the document describes the body's type.
type bodyTyper interface {
	BodyType() reflect.Type
}

func (b *builder) success(t reflect.Type, status int, contentType string) (int, *oas.Response, error) {
	resp := &oas.Response{Description: cmp.Or(http.StatusText(status), "Success")}
	if t == nil {
		return status, resp, nil
	}
	rt := t
	for rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	if rt.Implements(bodyTyperType) {
		// responses.Reply[T]: documented as the T it sends.
		body := reflect.Zero(rt).Interface().(bodyTyper).BodyType()
		return b.success(body, status, contentType)
	}
	text := func(mt, format string) *oas.Response {
		resp.Content = contentOf(formatted("string", format), mt)
		return resp
	}
	switch rt {
	case htmlType:
		return status, text("text/html", ""), nil
	case plainType:
		return status, text("text/plain", ""), nil
	case fileType, streamingType:
		// The type is the file's or the stream's, known when it is sent.
		return status, text(cmp.Or(contentType, "*/*"), "binary"), nil
	case eventStreamType:
		return status, text("text/event-stream", ""), nil
	case redirectType:
		// A redirect goes out with the endpoint's status when it is a 3xx
		// (endpoint.Status), 307 otherwise.
		if status < 300 || status > 399 {
			status = http.StatusTemporaryRedirect
		}
		r := &oas.Response{
			Description: cmp.Or(http.StatusText(status), "Redirect") + ": see Location",
			Headers: map[string]*oas.Header{"Location": {
				Description: "where to go",
				Schema:      formatted("string", "uri-reference"),
			}},
		}
		return status, r, nil
	case jsonRespType:
		resp.Content = jsonContent(&oas.Schema{})
		return status, resp, nil
	}
	if status == http.StatusNoContent || status == http.StatusNotModified {
		return status, resp, nil
	}
	if t.Kind() == reflect.Interface {
		if t == responseType {
			resp.Content = contentOf(&oas.Schema{}, "*/*")
		} else {
			resp.Content = jsonContent(&oas.Schema{})
		}
		return status, resp, nil
	}
	ref, err := b.out.ref(t)
	if err != nil {
		return 0, nil, err
	}
	nilIsNull(ref, t, false) // a nil slice or map is sent as null
	resp.Content = jsonContent(ref)
	return status, resp, nil
}

// security declares info's security schemes in doc and its default
// requirement.
func security(doc *oas.Document, info Info) error {
	if len(info.SecuritySchemes) > 0 {
		doc.Components.SecuritySchemes = map[string]*oas.SecurityScheme{}
	}
	for name, s := range info.SecuritySchemes {
		if err := s.validate(); err != nil {
			return fmt.Errorf("openapi: security scheme %q: %w", name, err)
		}
		doc.Components.SecuritySchemes[name] = &oas.SecurityScheme{
			Type: s.Type, Scheme: s.Scheme, BearerFormat: s.BearerFormat,
			In: s.In, Name: s.Name, Description: s.Description,
		}
	}
	req, err := requirements(info.Security, info)
	if err != nil {
		return fmt.Errorf("openapi: default security: %w", err)
	}
	doc.Security = req
	return nil
}

// operationSecurity sets o's requirement when op's differs from the
// document's default. An operation that requires nothing says so with an
// empty list (security: []), also when the document has no default: a
// reader, or a linter, then knows it is public rather than forgotten.
func operationSecurity(o *oas.Operation, op Operation, info Info) error {
	if op.Security == nil {
		if len(info.Security) == 0 {
			o.Security = []oas.SecurityRequirement{} // public
		}
		return nil
	}
	req, err := requirements(op.Security, info)
	if err != nil {
		return err
	}
	if req == nil {
		req = []oas.SecurityRequirement{} // public
	}
	o.Security = req
	return nil
}

// requirements is the requirement "any one of names", nil for no names.
func requirements(names []string, info Info) ([]oas.SecurityRequirement, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var reqs []oas.SecurityRequirement
	for _, name := range names {
		if _, ok := info.SecuritySchemes[name]; !ok {
			return nil, fmt.Errorf("security scheme %q is not declared", name)
		}
		reqs = append(reqs, oas.SecurityRequirement{name: []string{}})
	}
	return reqs, nil
}
