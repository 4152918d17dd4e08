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
	// Required reports whether the binding tag contains "required".
	Required bool
	// Binding is the raw `binding` tag.
	Binding string

	decode decoder
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

	params   []int // indexes into Fields of non-body fields
	validate bool  // the type is a struct or a pointer to one
	// rules reports that the type has `binding` rules somewhere in it:
	// without them the validator runs only for the struct-level
	// validations a program may have registered (see Validator).
	rules bool
}

var (
	requestType    = reflect.TypeFor[Request]()
	uploadType     = reflect.TypeFor[*UploadFile]()
	uploadListType = reflect.TypeFor[[]*UploadFile]()
)

// NewPlan computes the binding plan of a request type. It returns an error
// naming the field when a tag cannot be honoured (an unsupported field type, a
// file tag on a field that is not *UploadFile, form and JSON body fields in
// the same struct).
func NewPlan(t reflect.Type) (*Plan, error) {
	p := &Plan{Type: t}
	switch {
	case t == requestType:
		p.Raw = true
		return p, nil
	case t.Kind() != reflect.Struct:
		p.Whole, p.HasBody = true, true
		if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
			p.validate, p.rules = true, hasRules(t.Elem())
			if err := checkRules(t.Elem()); err != nil {
				return nil, err
			}
		}
		return p, nil
	}
	p.validate, p.rules = true, hasRules(t)
	if err := p.addFields(t, nil); err != nil {
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

func (p *Plan) addFields(t reflect.Type, index []int) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		source, key, tagged := fieldSource(sf)
		if !tagged && sf.Anonymous && sf.Type.Kind() == reflect.Struct && sf.Tag.Get("json") == "" {
			if err := p.addFields(sf.Type, idx); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		f := Field{
			Name:    sf.Name,
			Index:   idx,
			Source:  source,
			Key:     key,
			Type:    sf.Type,
			Binding: sf.Tag.Get("binding"),
		}
		f.Required = hasRule(f.Binding, "required")
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
		}
		p.Fields = append(p.Fields, f)
	}
	return nil
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
