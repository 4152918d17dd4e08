package openapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/replicaflow/replicaflow/openapi"
	"github.com/replicaflow/replicaflow/openapi/internal/legacy"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

type Address struct {
	Street string `json:"street" binding:"required"`
	City   string `json:"city,omitempty"`
}

type User struct {
	ID      uuid.UUID         `json:"id"`
	Name    string            `json:"name" binding:"required,min=1,max=64"`
	Email   string            `json:"email" binding:"omitempty,email"`
	Role    string            `json:"role" binding:"required,oneof=admin member guest"`
	Age     *int              `json:"age,omitempty" binding:"omitempty,gte=0,lte=150"`
	Address *Address          `json:"address,omitempty"`
	Tags    []string          `json:"tags" binding:"max=10,dive,min=2"`
	Labels  map[string]string `json:"labels,omitempty"`
	Born    time.Time         `json:"born"`
	Friends []*User           `json:"friends,omitempty"`
	//lint:ignore U1000 an unexported field, which the schema must skip
	secret string
}

// Page is a generic page of items.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

type GetUser struct {
	ID      int64         `path:"id"`
	Verbose bool          `query:"verbose"`
	Fields  []string      `query:"fields"`
	Limit   int32         `query:"limit" binding:"required,min=1,max=100"`
	Sort    string        `query:"sort" binding:"omitempty,oneof=asc desc"`
	Since   time.Time     `query:"since"`
	Timeout time.Duration `query:"timeout"`
	Trace   uuid.UUID     `header:"X-Trace-Id"`
	Session string        `cookie:"session" binding:"required"`
}

type UpdateUser struct {
	ID    int64   `path:"id"`
	Token string  `header:"X-Token"`
	Name  string  `json:"name" binding:"required"`
	Score float32 `json:"score,string"`
	Level uint8   `json:"level" binding:"oneof=1 2 3"`
}

type Upload struct {
	Title string                 `form:"title" binding:"required"`
	Count int                    `form:"count"`
	File  *requests.UploadFile   `file:"file" binding:"required"`
	More  []*requests.UploadFile `file:"more"`
}

type Login struct {
	User     string `form:"user" binding:"required"`
	Password string `form:"password" binding:"required"`
}

type Item struct {
	Name string `json:"name"`
}

// allOps uses every binding kind and every response type.
func allOps() []openapi.Operation {
	return []openapi.Operation{
		{Service: "users", Method: "GET", Path: "/users/:id", Request: reflect.TypeFor[GetUser](), Response: reflect.TypeFor[User](), Summary: "Get a user"},
		{Service: "users", Method: "POST", Path: "/users", Request: reflect.TypeFor[User](), Response: reflect.TypeFor[User](), Status: 201},
		{Service: "users", Method: "PATCH", Path: "/users/:id", Request: reflect.TypeFor[UpdateUser](), Response: reflect.TypeFor[*User]()},
		{Service: "users", Method: "DELETE", Path: "/users/:id", Request: reflect.TypeFor[GetUser](), Status: 204, Deprecated: true},
		{Service: "users", Method: "GET", Path: "/users", Response: reflect.TypeFor[Page[User]](), Tags: []string{"listing"}},
		{Service: "legacy", Method: "GET", Path: "/legacy/users", Response: reflect.TypeFor[[]legacy.User]()},
		{Service: "files", Method: "POST", Path: "/files/upload", Request: reflect.TypeFor[Upload](), Response: reflect.TypeFor[responses.JSON]()},
		{Service: "files", Method: "POST", Path: "/files/login", Request: reflect.TypeFor[Login](), Response: reflect.TypeFor[responses.Redirect]()},
		{Service: "files", Method: "GET", Path: "/files/*path", Response: reflect.TypeFor[responses.File]()},
		{Service: "files", Method: "POST", Path: "/files/batch", Request: reflect.TypeFor[[]Item](), Response: reflect.TypeFor[map[string]int]()},
		{Service: "pages", Method: "GET", Path: "/pages/html", Response: reflect.TypeFor[responses.HTML]()},
		{Service: "pages", Method: "GET", Path: "/pages/text", Response: reflect.TypeFor[responses.PlainText]()},
		{Service: "pages", Method: "GET", Path: "/pages/stream", Response: reflect.TypeFor[responses.Streaming]()},
		{Service: "pages", Method: "GET", Path: "/pages/events", Response: reflect.TypeFor[responses.EventStream]()},
		{Service: "pages", Method: "GET", Path: "/pages/any", Response: reflect.TypeFor[responses.Response]()},
		{Service: "pages", Method: "POST", Path: "/pages/raw", Request: reflect.TypeFor[requests.Request](), Response: reflect.TypeFor[any]()},
		{Service: "pages", Method: "GET", Path: "/pages/ws", WebSocket: true, OperationID: "pages-socket"},
		{Service: "root", Method: "GET", Path: "/", Response: reflect.TypeFor[string]()},
	}
}

// load serves the document like the application does and loads it back
// with kin-openapi's loader, then validates it.
func load(t *testing.T, spec *openapi.Spec) (*openapi3.T, []byte) {
	t.Helper()
	srv := httptest.NewServer(spec.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %s: %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return doc, body
}

func TestDocumentValidates(t *testing.T) {
	spec := openapi.NewSpec(openapi.Info{Title: "test", Version: "1.2.3"}, allOps)
	doc, _ := load(t, spec)
	if doc.OpenAPI != "3.0.3" || doc.Info.Title != "test" || doc.Info.Version != "1.2.3" {
		t.Errorf("header: %s %q %q", doc.OpenAPI, doc.Info.Title, doc.Info.Version)
	}
	if n := doc.Paths.Len(); n != 15 {
		t.Errorf("paths: %d, want 15: %v", n, doc.Paths.InMatchingOrder())
	}
	var tags []string
	for _, tg := range doc.Tags {
		tags = append(tags, tg.Name)
	}
	if want := []string{"files", "legacy", "listing", "pages", "root", "users"}; !slices.Equal(tags, want) {
		t.Errorf("tags %v, want %v", tags, want)
	}
	var comps []string
	for name := range doc.Components.Schemas {
		comps = append(comps, name)
	}
	slices.Sort(comps)
	want := []string{"Address", "FieldError", "Item", "PageUser", "Problem", "UserInput", "legacy.User", "openapi_test.User"}
	if !slices.Equal(comps, want) {
		t.Errorf("components %v, want %v", comps, want)
	}
}

func TestStatusesAndContentTypes(t *testing.T) {
	doc, err := build(openapi.Info{}, allOps())
	if err != nil {
		t.Fatal(err)
	}
	if doc.Info.Title != openapi.DefaultTitle || doc.Info.Version != openapi.DefaultVersion {
		t.Errorf("default info: %q %q", doc.Info.Title, doc.Info.Version)
	}
	tests := []struct {
		method, path string
		statuses     []string
		content      string // media type of the success answer, "" for none
	}{
		{"GET", "/users/{id}", []string{"200", "400", "422", "500", "503"}, "application/json"},
		{"POST", "/users", []string{"201", "400", "413", "415", "422", "500", "503"}, "application/json"},
		{"DELETE", "/users/{id}", []string{"204", "400", "422", "500", "503"}, ""},
		{"GET", "/users", []string{"200", "500", "503"}, "application/json"},
		{"POST", "/files/upload", []string{"200", "400", "413", "415", "422", "500", "503"}, "application/json"},
		{"POST", "/files/login", []string{"307", "400", "413", "415", "422", "500", "503"}, ""},
		{"GET", "/files/{path}", []string{"200", "206", "304", "404", "416", "500", "503"}, "*/*"},
		{"GET", "/pages/html", []string{"200", "500", "503"}, "text/html"},
		{"GET", "/pages/text", []string{"200", "500", "503"}, "text/plain"},
		{"GET", "/pages/stream", []string{"200", "500", "503"}, "*/*"},
		{"GET", "/pages/events", []string{"200", "500", "503"}, "text/event-stream"},
		{"GET", "/pages/any", []string{"200", "500", "503"}, "*/*"},
		{"POST", "/pages/raw", []string{"200", "500", "503"}, "application/json"},
		{"GET", "/pages/ws", []string{"101", "426", "500", "503"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			op := doc.Paths.Find(tt.path).GetOperation(tt.method)
			if op == nil {
				t.Fatal("no operation")
			}
			var got []string
			for code := range op.Responses.Map() {
				got = append(got, code)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.statuses) {
				t.Errorf("statuses %v, want %v", got, tt.statuses)
			}
			success := op.Responses.Value(tt.statuses[0]).Value
			var types []string
			for mt := range success.Content {
				types = append(types, mt)
			}
			if want := []string{tt.content}; tt.content == "" && len(types) != 0 || tt.content != "" && !slices.Equal(types, want) {
				t.Errorf("success content %v, want %q", types, tt.content)
			}
			for _, code := range tt.statuses[1:] {
				if code == "101" || code == "206" || code == "304" || code == "416" {
					continue // not problems: a file's other answers, below
				}
				mt := op.Responses.Value(code).Value.Content.Get("application/problem+json")
				if mt == nil || mt.Schema.Ref != "#/components/schemas/Problem" {
					t.Errorf("%s is not a Problem", code)
				}
			}
		})
	}
	file := doc.Paths.Find("/files/{path}").Get.Responses
	if r := file.Value("206").Value; r.Headers["Content-Range"] == nil || r.Content.Get("application/pdf") == nil {
		t.Error("206 without Content-Range or the file's content")
	}
	if r := file.Value("304").Value; len(r.Content) != 0 {
		t.Error("304 with a body")
	}
	if r := file.Value("416").Value; r.Content.Get("text/plain") == nil {
		t.Error("416 is not the plain text net/http sends")
	}
	redirect := doc.Paths.Find("/files/login").Post.Responses.Value("307").Value
	if redirect.Headers["Location"] == nil {
		t.Error("redirect without Location header")
	}
}

// schemaJSON marshals v and re-indents it for comparison.
func schemaJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	out, _ := json.MarshalIndent(x, "", "  ")
	return string(out)
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var x any
	if err := json.Unmarshal([]byte(s), &x); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	out, _ := json.MarshalIndent(x, "", "  ")
	return string(out)
}

func TestExactSchemas(t *testing.T) {
	doc, err := build(openapi.Info{}, allOps())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  any
		want string
	}{
		{"component User, as sent", doc.Components.Schemas["openapi_test.User"], `{
			"type": "object",
			"required": ["id", "name", "email", "role", "tags", "born"],
			"properties": {
				"id": {"type": "string", "format": "uuid"},
				"name": {"type": "string", "minLength": 1, "maxLength": 64},
				"email": {"type": "string", "format": "email"},
				"role": {"type": "string", "enum": ["admin", "member", "guest"]},
				"age": {"type": "integer", "format": "int64", "nullable": true, "minimum": 0, "maximum": 150},
				"address": {"type": "object", "nullable": true, "allOf": [{"$ref": "#/components/schemas/Address"}]},
				"tags": {"type": "array", "nullable": true, "maxItems": 10, "items": {"type": "string", "minLength": 2}},
				"labels": {"type": "object", "additionalProperties": {"type": "string"}},
				"born": {"type": "string", "format": "date-time"},
				"friends": {"type": "array", "items": {"type": "object", "nullable": true, "allOf": [{"$ref": "#/components/schemas/openapi_test.User"}]}}
			}
		}`},
		{"component User, as read", doc.Components.Schemas["UserInput"], `{
			"type": "object",
			"required": ["name", "role"],
			"properties": {
				"id": {"type": "string", "format": "uuid"},
				"name": {"type": "string", "minLength": 1, "maxLength": 64},
				"email": {"type": "string", "format": "email"},
				"role": {"type": "string", "enum": ["admin", "member", "guest"]},
				"age": {"type": "integer", "format": "int64", "nullable": true, "minimum": 0, "maximum": 150},
				"address": {"type": "object", "nullable": true, "allOf": [{"$ref": "#/components/schemas/Address"}]},
				"tags": {"type": "array", "nullable": true, "maxItems": 10, "items": {"type": "string", "minLength": 2}},
				"labels": {"type": "object", "additionalProperties": {"type": "string"}},
				"born": {"type": "string", "format": "date-time"},
				"friends": {"type": "array", "items": {"type": "object", "nullable": true, "allOf": [{"$ref": "#/components/schemas/UserInput"}]}}
			}
		}`},
		{"generic PageUser", doc.Components.Schemas["PageUser"], `{
			"type": "object",
			"required": ["items"],
			"properties": {
				"items": {"type": "array", "nullable": true, "items": {"$ref": "#/components/schemas/openapi_test.User"}},
				"next": {"type": "string"}
			}
		}`},
		{"GET /users/{id} parameters", doc.Paths.Find("/users/{id}").Get.Parameters, `[
			{"in": "path", "name": "id", "required": true, "schema": {"type": "integer", "format": "int64"}},
			{"in": "query", "name": "verbose", "schema": {"type": "boolean"}},
			{"in": "query", "name": "fields", "schema": {"type": "array", "items": {"type": "string"}}},
			{"in": "query", "name": "limit", "required": true, "schema": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 100}},
			{"in": "query", "name": "sort", "schema": {"type": "string", "enum": ["asc", "desc"]}},
			{"in": "query", "name": "since", "schema": {"type": "string", "format": "date-time"}},
			{"in": "query", "name": "timeout", "schema": {"type": "string", "description": "a duration: a number with a unit, like 300ms, 1.5s or 2h45m", "example": "1.5s", "pattern": "^[-+]?(0|((\\d+\\.?\\d*|\\.\\d+)(ns|us|µs|μs|ms|s|m|h))+)$"}},
			{"in": "header", "name": "X-Trace-Id", "schema": {"type": "string", "format": "uuid"}},
			{"in": "cookie", "name": "session", "required": true, "schema": {"type": "string"}}
		]`},
		{"PATCH /users/{id} body", doc.Paths.Find("/users/{id}").Patch.RequestBody, `{
			"required": true,
			"content": {"application/json": {"schema": {
				"type": "object",
				"required": ["name"],
				"properties": {
					"name": {"type": "string"},
					"score": {"type": "string"},
					"level": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 255, "enum": [1, 2, 3]}
				}
			}}}
		}`},
		{"POST /files/upload body", doc.Paths.Find("/files/upload").Post.RequestBody, `{
			"required": true,
			"content": {"multipart/form-data": {"schema": {
				"type": "object",
				"required": ["title", "file"],
				"properties": {
					"title": {"type": "string"},
					"count": {"type": "integer", "format": "int64"},
					"file": {"type": "string", "format": "binary"},
					"more": {"type": "array", "items": {"type": "string", "format": "binary"}}
				}
			}}}
		}`},
		{"POST /files/login body", doc.Paths.Find("/files/login").Post.RequestBody.Value.Content, `{
			"application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["user", "password"],
				"properties": {"user": {"type": "string"}, "password": {"type": "string"}}}},
			"multipart/form-data": {"schema": {"type": "object", "required": ["user", "password"],
				"properties": {"user": {"type": "string"}, "password": {"type": "string"}}}}
		}`},
		{"POST /files/batch", doc.Paths.Find("/files/batch").Post.RequestBody, `{
			"required": true,
			"content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}
		}`},
		{"Problem", doc.Components.Schemas["Problem"], `{
			"type": "object",
			"description": "RFC 9457 problem details",
			"required": ["type", "title", "status"],
			"properties": {
				"type": {"type": "string"},
				"title": {"type": "string"},
				"status": {"type": "integer", "format": "int64"},
				"detail": {"type": "string"},
				"instance": {"type": "string"},
				"request_id": {"type": "string"},
				"errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}
			}
		}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := schemaJSON(t, tt.got), compactJSON(t, tt.want); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestStableAcrossOrders(t *testing.T) {
	ops := allOps()
	first, err := build(openapi.Info{}, ops)
	if err != nil {
		t.Fatal(err)
	}
	want := schemaJSON(t, first)
	for i := range 5 {
		shuffled := slices.Clone(ops)
		for j := range shuffled {
			k := (j*7 + i*3) % len(shuffled)
			shuffled[j], shuffled[k] = shuffled[k], shuffled[j]
		}
		doc, err := build(openapi.Info{}, shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if got := schemaJSON(t, doc); got != want {
			t.Fatalf("order %d gives another document", i)
		}
	}
}

func TestOperationIDs(t *testing.T) {
	ops := append(allOps(),
		openapi.Operation{Service: "x", Method: "GET", Path: "/a_b"},
		openapi.Operation{Service: "x", Method: "GET", Path: "/a-b"},
		openapi.Operation{Service: "x", Method: "GET", Path: "/get-a-b-2"},
	)
	doc, err := build(openapi.Info{}, ops)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("operation ID %q used by %s and %s %s", op.OperationID, prev, method, path)
			}
			ids[op.OperationID] = method + " " + path
		}
	}
	for id, where := range map[string]string{
		"get-users-by-id":   "GET /users/{id}",
		"patch-users-by-id": "PATCH /users/{id}",
		"post-users":        "POST /users",
		"get-files-by-path": "GET /files/{path}",
		"get-root":          "GET /",
		"pages-socket":      "GET /pages/ws",
		"get-a-b":           "GET /a-b",
		"get-a-b-2":         "GET /a_b",
		"get-get-a-b-2":     "GET /get-a-b-2",
	} {
		if ids[id] != where {
			t.Errorf("operation %q is %q, want %q", id, ids[id], where)
		}
	}

	dup := []openapi.Operation{
		{Method: "GET", Path: "/a", OperationID: "same"},
		{Method: "GET", Path: "/b", OperationID: "same"},
	}
	if _, err := build(openapi.Info{}, dup); err == nil || !strings.Contains(err.Error(), "same") {
		t.Errorf("duplicate explicit IDs: err = %v", err)
	}
	twice := []openapi.Operation{{Method: "GET", Path: "/a/:x"}, {Method: "GET", Path: "/a/:x"}}
	if _, err := build(openapi.Info{}, twice); err == nil {
		t.Error("two operations on one method and path: no error")
	}
}

func TestOpenAPIPath(t *testing.T) {
	tests := []struct {
		route, want string
		params      []string
	}{
		{"/", "/", nil},
		{"/users/:id", "/users/{id}", []string{"id"}},
		{"/files/*path", "/files/{path}", []string{"path"}},
		{"/a/:x/b/:y", "/a/{x}/b/{y}", []string{"x", "y"}},
	}
	for _, tt := range tests {
		got, params := openapi.OpenAPIPath(tt.route)
		if got != tt.want || !slices.Equal(params, tt.params) {
			t.Errorf("OpenAPIPath(%q) = %q %v, want %q %v", tt.route, got, params, tt.want, tt.params)
		}
	}
}

func TestInfoFromEnv(t *testing.T) {
	t.Setenv("API_TITLE", "Shop")
	t.Setenv("API_VERSION", "")
	t.Setenv("API_DESCRIPTION", "sells things")
	got := openapi.InfoFromEnv(openapi.Info{Title: "flow title", Version: "2.0.0"})
	if want := (openapi.Info{Title: "Shop", Version: "2.0.0", Description: "sells things"}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestBadTypes(t *testing.T) {
	type WithChanMap struct {
		M map[[2]int]string `json:"m"`
	}
	type Mixed struct {
		Name string `form:"name"`
		Body string `json:"body"`
	}
	for name, op := range map[string]openapi.Operation{
		"complex map key": {Method: "GET", Path: "/x", Response: reflect.TypeFor[WithChanMap]()},
		"form and JSON":   {Method: "POST", Path: "/x", Request: reflect.TypeFor[Mixed]()},
		"channel":         {Method: "GET", Path: "/x", Response: reflect.TypeFor[chan int]()},
	} {
		if _, err := build(openapi.Info{}, []openapi.Operation{op}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestRegistrationPlan checks that an operation carrying the plan its
// endpoint was registered with is described exactly as one whose plan Build
// makes itself, and that Build describes what that plan binds.
func TestRegistrationPlan(t *testing.T) {
	withPlans := allOps()
	for i, op := range withPlans {
		if op.Request != nil {
			plan, err := requests.NewPlan(op.Request)
			if err != nil {
				t.Fatal(err)
			}
			withPlans[i].Plan = plan
		}
	}
	want, err := build(openapi.Info{}, allOps())
	if err != nil {
		t.Fatal(err)
	}
	got, err := build(openapi.Info{}, withPlans)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(got)
	if string(gotJSON) != string(wantJSON) {
		t.Fatal("an operation with its registration plan is described differently")
	}

	// A plan without the query field "verbose": the document follows it.
	plan, _ := requests.NewPlan(reflect.TypeFor[GetUser]())
	plan.Fields = slices.DeleteFunc(slices.Clone(plan.Fields), func(f requests.Field) bool { return f.Key == "verbose" })
	doc, err := build(openapi.Info{}, []openapi.Operation{
		{Method: "GET", Path: "/users/:id", Request: reflect.TypeFor[GetUser](), Plan: plan},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range doc.Paths.Find("/users/{id}").Get.Parameters {
		if p.Value.Name == "verbose" {
			t.Fatal("Build recomputed the plan instead of using the one given")
		}
	}
}

// A responses.Reply[T] answer is documented exactly as a T answer.
func TestReplyIsDocumentedAsItsBody(t *testing.T) {
	doc, err := build(openapi.Info{}, []openapi.Operation{
		{Service: "x", Method: "PUT", Path: "/reply", Status: 201, Response: reflect.TypeFor[responses.Reply[User]]()},
		{Service: "x", Method: "PUT", Path: "/plain", Status: 201, Response: reflect.TypeFor[User]()},
	})
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := json.Marshal(doc.Paths.Find("/reply").Put.Responses.Status(201))
	plain, _ := json.Marshal(doc.Paths.Find("/plain").Put.Responses.Status(201))
	if string(reply) != string(plain) || !strings.Contains(string(reply), "#/components/schemas/User\"") {
		t.Fatalf("Reply[User] documented as\n%s\nwant as User:\n%s", reply, plain)
	}
}

// build is openapi.Build read back as clients read it: the JSON, loaded by
// kin-openapi.
func build(info openapi.Info, ops []openapi.Operation) (*openapi3.T, error) {
	doc, err := openapi.Build(info, ops)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return openapi3.NewLoader().LoadFromData(data)
}
