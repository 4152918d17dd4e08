// Package oas is the OpenAPI 3.0 document model: the objects
// openapi.Build writes, with the field names of the specification. They
// are plain data, and encoding/json writes a document as /openapi.json
// serves it.
//
// It holds only what the framework writes. A program that validates
// requests against a document, or reads one from elsewhere, loads the JSON
// with a full OpenAPI library (kin-openapi's openapi3.Loader, for one):
// servers do not link one.
package oas

import "encoding/json"

// Document is an OpenAPI 3.0 document.
type Document struct {
	OpenAPI    string                `json:"openapi"`
	Info       *Info                 `json:"info"`
	Servers    []*Server             `json:"servers,omitempty"`
	Paths      map[string]*PathItem  `json:"paths"`
	Components *Components           `json:"components,omitempty"`
	Security   []SecurityRequirement `json:"security,omitempty"`
	Tags       []*Tag                `json:"tags,omitempty"`
}

// Info says what the API is called and which version of it the document
// describes.
type Info struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Version     string `json:"version"`
}

// Server is a base URL the API is served at.
type Server struct {
	URL string `json:"url"`
}

// Tag groups operations; openapi.Build makes one per service.
type Tag struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// PathItem holds the operations of one path, by method.
type PathItem struct {
	Get     *Operation `json:"get,omitempty"`
	Put     *Operation `json:"put,omitempty"`
	Post    *Operation `json:"post,omitempty"`
	Delete  *Operation `json:"delete,omitempty"`
	Options *Operation `json:"options,omitempty"`
	Head    *Operation `json:"head,omitempty"`
	Patch   *Operation `json:"patch,omitempty"`
	Trace   *Operation `json:"trace,omitempty"`
}

// Operation returns the operation of method ("GET", "POST", ...), or nil.
func (p *PathItem) Operation(method string) *Operation {
	if p == nil {
		return nil
	}
	if slot := p.slot(method); slot != nil {
		return *slot
	}
	return nil
}

// slot is where the operation of method goes, nil for a method OpenAPI 3.0
// has no slot for.
func (p *PathItem) slot(method string) **Operation {
	switch method {
	case "GET":
		return &p.Get
	case "PUT":
		return &p.Put
	case "POST":
		return &p.Post
	case "DELETE":
		return &p.Delete
	case "OPTIONS":
		return &p.Options
	case "HEAD":
		return &p.Head
	case "PATCH":
		return &p.Patch
	case "TRACE":
		return &p.Trace
	}
	return nil
}

// Operation is one method on one path.
type Operation struct {
	Tags        []string     `json:"tags,omitempty"`
	Summary     string       `json:"summary,omitempty"`
	Description string       `json:"description,omitempty"`
	OperationID string       `json:"operationId,omitempty"`
	Parameters  []*Parameter `json:"parameters,omitempty"`
	RequestBody *RequestBody `json:"requestBody,omitempty"`
	// Responses are keyed by status code ("200", "503").
	Responses  map[string]*Response `json:"responses"`
	Deprecated bool                 `json:"deprecated,omitempty"`
	// Security is nil when the document's default applies, and empty
	// (written as security: []) when the operation needs no credentials.
	Security []SecurityRequirement `json:"security,omitzero"`
}

// Parameter is an input in the path, the query, a header or a cookie.
type Parameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required,omitempty"`
	Example     any     `json:"example,omitempty"`
	Schema      *Schema `json:"schema,omitempty"`
}

// RequestBody is the body an operation reads, by media type.
type RequestBody struct {
	Description string                `json:"description,omitempty"`
	Required    bool                  `json:"required,omitempty"`
	Content     map[string]*MediaType `json:"content"`
}

// MediaType is the schema of a body of one media type.
type MediaType struct {
	Schema *Schema `json:"schema,omitempty"`
}

// Response is one answer of an operation.
type Response struct {
	Description string                `json:"description"`
	Headers     map[string]*Header    `json:"headers,omitempty"`
	Content     map[string]*MediaType `json:"content,omitempty"`
}

// Header is a header an answer carries.
type Header struct {
	Description string  `json:"description,omitempty"`
	Schema      *Schema `json:"schema,omitempty"`
}

// Components holds the schemas operations refer to by name, and the
// security schemes they may require.
type Components struct {
	Schemas         map[string]*Schema         `json:"schemas,omitempty"`
	SecuritySchemes map[string]*SecurityScheme `json:"securitySchemes,omitempty"`
}

// SecurityScheme is a way clients authenticate.
type SecurityScheme struct {
	Type         string `json:"type"`
	Description  string `json:"description,omitempty"`
	Name         string `json:"name,omitempty"`
	In           string `json:"in,omitempty"`
	Scheme       string `json:"scheme,omitempty"`
	BearerFormat string `json:"bearerFormat,omitempty"`
}

// SecurityRequirement names the schemes that together authenticate a
// request, each with its scopes (none for the schemes openapi.Build
// writes). An operation's list of requirements is met by any one of them.
type SecurityRequirement map[string][]string

// Schema is a JSON schema as OpenAPI 3.0 has it. A reference to a
// component has only Ref; nothing may stand beside it.
type Schema struct {
	Ref string `json:"$ref,omitempty"`

	Type        string    `json:"type,omitempty"`
	Format      string    `json:"format,omitempty"`
	Description string    `json:"description,omitempty"`
	Nullable    bool      `json:"nullable,omitempty"`
	Enum        []any     `json:"enum,omitempty"`
	Default     any       `json:"default,omitempty"`
	Example     any       `json:"example,omitempty"`
	Pattern     string    `json:"pattern,omitempty"`
	AllOf       []*Schema `json:"allOf,omitempty"`

	Minimum          *float64 `json:"minimum,omitempty"`
	Maximum          *float64 `json:"maximum,omitempty"`
	ExclusiveMinimum bool     `json:"exclusiveMinimum,omitempty"`
	ExclusiveMaximum bool     `json:"exclusiveMaximum,omitempty"`
	MinLength        uint64   `json:"minLength,omitempty"`
	MaxLength        *uint64  `json:"maxLength,omitempty"`

	Items    *Schema `json:"items,omitempty"`
	MinItems uint64  `json:"minItems,omitempty"`
	MaxItems *uint64 `json:"maxItems,omitempty"`

	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties *Additional        `json:"additionalProperties,omitempty"`
	MinProperties        uint64             `json:"minProperties,omitempty"`
	MaxProperties        *uint64            `json:"maxProperties,omitempty"`
}

// Additional is what an object allows besides its listed properties:
// nothing when None is set, else values of Schema, else anything.
type Additional struct {
	Schema *Schema
	None   bool
}

// MarshalJSON writes false for None, the schema when there is one, and
// true otherwise.
func (a Additional) MarshalJSON() ([]byte, error) {
	switch {
	case a.None:
		return []byte("false"), nil
	case a.Schema != nil:
		return json.Marshal(a.Schema)
	}
	return []byte("true"), nil
}

// MarshalJSON writes a reference as {"$ref": ...} alone.
func (s Schema) MarshalJSON() ([]byte, error) {
	if s.Ref != "" {
		return json.Marshal(struct {
			Ref string `json:"$ref"`
		}{s.Ref})
	}
	type plain Schema
	return json.Marshal(plain(s))
}

// SetOperation puts o in p's slot for method, and reports whether OpenAPI
// 3.0 has one.
func (p *PathItem) SetOperation(method string, o *Operation) bool {
	slot := p.slot(method)
	if slot != nil {
		*slot = o
	}
	return slot != nil
}
