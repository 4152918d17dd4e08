package requests

import (
	"io"
	"reflect"
	"sync"
)

var wholePlans sync.Map // reflect.Type → *Plan

// DecodeJSON decodes one JSON value from r into dst (a pointer to a zero
// value) and validates it against its `binding` tags, as an endpoint binds a
// JSON body: "required" means sent. Unlike an endpoint by default, it
// refuses unknown fields (as endpoint.RefuseUnknownFields does), for the
// configuration and registration documents it reads, where a misspelt field
// is a mistake to report. The error, if any, is an *Error: 400 for malformed
// JSON, 422 listing every failing field.
func DecodeJSON(r io.Reader, dst any) error {
	t := reflect.TypeOf(dst).Elem()
	p, ok := wholePlans.Load(t)
	if !ok {
		p, _ = wholePlans.LoadOrStore(t, wholePlan(t))
	}
	plan := p.(*Plan)
	buf := getBuffer()
	defer putBuffer(buf)
	if _, err := buf.ReadFrom(r); err != nil {
		return malformed("the body could not be read", err)
	}
	data := buf.Bytes()
	if blank(data) {
		return invalid([]FieldError{{Location: "body", Message: "is required", Rule: "required"}})
	}
	if err := decodeJSON(data, dst, true); err != nil {
		return err
	}
	if plan.validates() {
		fields, err := plan.check(dst, nil, &presence{body: data})
		if err != nil {
			return err
		}
		if len(fields) > 0 {
			return invalid(fields)
		}
	}
	return nil
}

// wholePlan is the plan DecodeJSON binds a value of type t with: the whole
// body, validated when t is a struct or a pointer to one.
func wholePlan(t reflect.Type) *Plan {
	p := &Plan{Type: t, Whole: true, HasBody: true}
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() == reflect.Struct {
		p.validate, p.rules = true, hasRules(st)
		p.top = topFields(st)
	}
	return p
}
