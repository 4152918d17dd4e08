package requests

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"sync"
)

var wholePlans sync.Map // reflect.Type → *Plan

// DecodeJSON decodes one JSON value from r into dst (a pointer) and validates
// it against its `binding` tags, as an endpoint binds a JSON body. Unknown
// fields are refused. The error, if any, is an *Error: 400 for malformed
// JSON, 422 listing every failing field.
func DecodeJSON(r io.Reader, dst any) error {
	t := reflect.TypeOf(dst).Elem()
	p, ok := wholePlans.Load(t)
	if !ok {
		p, _ = wholePlans.LoadOrStore(t, wholePlan(t))
	}
	plan := p.(*Plan)
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			return invalid([]FieldError{{Location: "body", Message: "is required", Rule: "required"}})
		}
		if e, ok := jsonError(err).(*Error); ok && e.Status == 400 && len(err.Error()) > 0 && isUnknownField(err) {
			return invalid([]FieldError{{Location: "body", Message: clip(err.Error(), maxEchoedMessage)}})
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("the body has data after its JSON value", err)
	}
	if plan.validates() {
		fields, err := plan.check(dst, nil)
		if err != nil {
			return err
		}
		if len(fields) > 0 {
			return invalid(fields)
		}
	}
	return nil
}

func isUnknownField(err error) bool {
	const prefix = "json: unknown field "
	s := err.Error()
	return len(s) > len(prefix) && s[:len(prefix)] == prefix
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
	}
	return p
}
