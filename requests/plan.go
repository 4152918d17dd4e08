package requests

import (
	"fmt"
	"net/textproto"
	"reflect"
	"strings"
)

// Source is where a field of a request type binds from.
type Source uint8

// The sources a field can bind from.
const (
	Body Source = iota
	Path
	Query
	Header
	Cookie
	Form
	File
)

var sourceNames = [...]string{"body", "path", "query", "header", "cookie", "form", "file"}

// String returns the source's name as used in error locations: "body",
// "path", "query", "header", "cookie", "form" or "file".
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return fmt.Sprintf("Source(%d)", s)
}

// tagSources lists the struct tags that bind a field, in priority order.
var tagSources = [...]struct {
	tag    string
	source Source
}{
	{"path", Path}, {"query", Query}, {"header", Header},
	{"cookie", Cookie}, {"form", Form}, {"file", File},
}

// Field is one field of a request struct in a binding plan.
type Field struct {
	// Name is the Go name of the field.
	Name string
	// Index is the field's index path, for reflect.Value.FieldByIndex.
	Index []int
	// Source is where the field binds from.
	Source Source
	// Key is the parameter name: the tag value, or the JSON name for a body
	// field.
	Key string
	// Type is the field's Go type.
	Type reflect.Type
	// Required reports whether the binding tag contains "required": the
	// field must be sent (a zero value, when sent, is a value).
	Required bool
	// Binding is the raw `binding` tag.
	Binding string
	// Default is the `default` tag: the text bound when a query, header,
	// cookie or form field is not sent ("" for none; see HasDefault).
	Default string
	// HasDefault reports that the field has a `default` tag.
	HasDefault bool
	// Doc is the `doc` tag, the field's description in the API document.
	Doc string
	// Example is the `example` tag, an example value in the API document.
	Example string

	decode decoder
	path   string // the Go names from the struct to the field, "Embedded.Name"
	rest   string // the binding rules other than "required"
}

// Plan is how a request type binds, computed once at registration.
type Plan struct {
	// Type is the request type.
	Type reflect.Type
	// Raw reports that the type is Request: nothing binds.
	Raw bool
	// Whole reports that the type is not a struct: the JSON body is the
	// whole value.
	Whole bool
	// Fields are the struct's bound fields, in declaration order.
	Fields []Field
	// HasBody reports that some fields (or the whole value) come from a
	// JSON body.
	HasBody bool
	// HasForm reports that some fields come from a form or a file.
	HasForm bool
	// HasFile reports that some fields are uploaded files.
	HasFile bool
	// RefuseUnknown reports that a JSON body holding a field the type does
	// not declare is refused (422) rather than the field ignored: the type
	// implements StrictJSON, or the endpoint asked for it.
	RefuseUnknown bool

	params   []int   // indexes into Fields of non-body fields
	top      []Field // the top-level JSON fields of a whole struct body
	validate bool    // the type is a struct or a pointer to one
	// rules reports that the type has `binding` rules somewhere in it:
	// without them the validator runs only for the struct-level
	// validations a program may have registered (see Validator).
	rules bool
}

// StrictJSON is implemented by a request type whose JSON body must hold
// only the fields it declares. By default an unknown field of a JSON body
// is ignored, as encoding/json does; a request type with a method
// RefuseUnknownFields (on the type or its pointer) answers such a body 422
// naming the field. endpoint.RefuseUnknownFields asks the same of one
// endpoint.
type StrictJSON interface {
	RefuseUnknownFields()
}

var strictType = reflect.TypeFor[StrictJSON]()

var (
	requestType    = reflect.TypeFor[Request]()
	uploadType     = reflect.TypeFor[*UploadFile]()
	uploadListType = reflect.TypeFor[[]*UploadFile]()
)

// NewPlan computes the binding plan of a request type. It returns an error
// naming the field when a tag cannot be honoured (an unsupported field type, a
// file tag on a field that is not *UploadFile, form and JSON body fields in
// the same struct, an option in a binding tag such as `query:"page,x"`, a
// `default` on a path, file or body field or one that does not parse).
func NewPlan(t reflect.Type) (*Plan, error) {
	p := &Plan{Type: t, RefuseUnknown: t.Implements(strictType) || reflect.PointerTo(t).Implements(strictType)}
	switch {
	case t == requestType:
		p.Raw = true
		return p, nil
	case t.Kind() != reflect.Struct:
		p.Whole, p.HasBody = true, true
		if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
			p.validate, p.rules = true, hasRules(t.Elem())
			p.top = topFields(t.Elem())
			if err := checkRules(t.Elem()); err != nil {
				return nil, err
			}
		}
		return p, nil
	}
	p.validate, p.rules = true, hasRules(t)
	if err := p.addFields(t, nil, ""); err != nil {
		return nil, err
	}
	if err := checkRules(t); err != nil {
		return nil, err
	}
	if p.HasBody && p.HasForm {
		var body []string
		for _, f := range p.Fields {
			if f.Source == Body {
				body = append(body, f.Name)
			}
		}
		return nil, fmt.Errorf("%s mixes form/file fields with JSON body fields (%s): tag them `form`, or `json:\"-\"` to ignore them", t, strings.Join(body, ", "))
	}
	for i, f := range p.Fields {
		if f.Source != Body {
			p.params = append(p.params, i)
		}
	}
	return p, nil
}

func (p *Plan) addFields(t reflect.Type, index []int, path string) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		source, key, tagged := fieldSource(sf)
		if !tagged && sf.Anonymous && sf.Type.Kind() == reflect.Struct && sf.Tag.Get("json") == "" {
			if err := p.addFields(sf.Type, idx, path+sf.Name+"."); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if opt := tagOption(sf); opt != "" {
			return fmt.Errorf("%s.%s: unknown option %q in its binding tag (the only text after the name); use `default:\"...\"` for a default, `binding:\"...\"` for rules", t, sf.Name, opt)
		}
		f := newField(sf, idx, path)
		f.Source, f.Key = source, key
		if f.HasDefault {
			switch source {
			case Query, Header, Cookie, Form:
			default:
				return fmt.Errorf("%s.%s: a `default` applies to query, header, cookie and form fields, not to a %s field", t, sf.Name, source)
			}
		}
		switch source {
		case Body:
			name, skip := jsonName(sf)
			if skip {
				continue
			}
			f.Key = name
			p.HasBody = true
		case File:
			if sf.Type != uploadType && sf.Type != uploadListType {
				return fmt.Errorf("%s.%s: a `file` field must be *requests.UploadFile or []*requests.UploadFile, not %s", t, sf.Name, sf.Type)
			}
			p.HasForm, p.HasFile = true, true
		default:
			if source == Header {
				f.Key = textproto.CanonicalMIMEHeaderKey(key)
			}
			if source == Form {
				p.HasForm = true
			}
			dec, err := decoderFor(sf.Type)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", t, sf.Name, err)
			}
			f.decode = dec
			if f.HasDefault {
				if err := f.setDefault(reflect.New(sf.Type).Elem()); err != nil {
					return fmt.Errorf("%s.%s: the default %q: %w", t, sf.Name, f.Default, err)
				}
			}
		}
		p.Fields = append(p.Fields, f)
	}
	return nil
}

// newField is the part of a plan's field that its tags other than the
// source give: rules, default, doc and example.
func newField(sf reflect.StructField, index []int, path string) Field {
	f := Field{Name: sf.Name, Index: index, Type: sf.Type, Binding: sf.Tag.Get("binding"), path: path + sf.Name}
	f.Required = hasRule(f.Binding, "required")
	f.Default, f.HasDefault = sf.Tag.Lookup("default")
	f.Doc, f.Example = sf.Tag.Get("doc"), sf.Tag.Get("example")
	if f.Required {
		var rest []string
		for r := range strings.SplitSeq(f.Binding, ",") {
			if r != "required" {
				rest = append(rest, r)
			}
		}
		f.rest = strings.Join(rest, ",")
	}
	return f
}

// setDefault binds the field's default into v.
func (f *Field) setDefault(v reflect.Value) error {
	if f.decode.many != nil {
		return f.decode.many(v, []string{f.Default})
	}
	return f.decode.one(v, f.Default)
}

// tagOption returns the text after the name in the binding tag of sf (path,
// query, header, cookie, form or file), where no option is known: "" when
// there is none.
func tagOption(sf reflect.StructField) string {
	for _, ts := range tagSources {
		if v, ok := sf.Tag.Lookup(ts.tag); ok {
			_, opt, _ := strings.Cut(v, ",")
			return opt
		}
	}
	return ""
}

// topFields lists the top-level JSON fields of struct type t (embedded
// structs promoted), for a body bound whole.
func topFields(t reflect.Type) []Field {
	var fields []Field
	var walk func(t reflect.Type, index []int, path string)
	walk = func(t reflect.Type, index []int, path string) {
		for i := range t.NumField() {
			sf := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct && sf.Tag.Get("json") == "" {
				walk(sf.Type, idx, path+sf.Name+".")
				continue
			}
			if !sf.IsExported() {
				continue
			}
			name, skip := jsonName(sf)
			if skip {
				continue
			}
			f := newField(sf, idx, path)
			f.Key = name
			fields = append(fields, f)
		}
	}
	walk(t, nil, "")
	return fields
}

func fieldSource(sf reflect.StructField) (Source, string, bool) {
	for _, ts := range tagSources {
		if v, ok := sf.Tag.Lookup(ts.tag); ok {
			name, _, _ := strings.Cut(v, ",")
			if name == "" {
				name = sf.Name
			}
			return ts.source, name, true
		}
	}
	return Body, "", false
}

func jsonName(sf reflect.StructField) (string, bool) {
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return "", true
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = sf.Name
	}
	return name, false
}

func hasRule(binding, rule string) bool {
	for r := range strings.SplitSeq(binding, ",") {
		if r == rule {
			return true
		}
	}
	return false
}

// fieldNamed returns the plan's field with the Go name that starts a
// validator namespace, for error locations; nil when there is none.
func (p *Plan) fieldNamed(name string) *Field {
	for i := range p.Fields {
		if p.Fields[i].Name == name {
			return &p.Fields[i]
		}
	}
	return nil
}
