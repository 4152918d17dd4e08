package requests

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-playground/validator/v10"
)

var (
	validateOnce sync.Once
	validate     *validator.Validate
	// custom is set once a program has asked for the validator: it may
	// have registered struct-level validations, which apply to types with
	// no `binding` tag, so from then on every struct is validated.
	custom atomic.Bool
)

// Validator returns the validator that checks `binding:"..."` tags, so a
// program can register its own rules (RegisterValidation,
// RegisterStructValidation) before it serves. Until a program calls it, a
// request type with no `binding` tag anywhere in it is not run through the
// validator at all, which saves its cost on every request.
func Validator() *validator.Validate {
	custom.Store(true)
	return rules()
}

// rules returns the validator without marking it as customised.
func rules() *validator.Validate {
	validateOnce.Do(func() {
		validate = validator.New(validator.WithRequiredStructEnabled())
		validate.SetTagName("binding")
		validate.RegisterTagNameFunc(func(sf reflect.StructField) string {
			if _, key, ok := fieldSource(sf); ok {
				return key
			}
			name, skip := jsonName(sf)
			if skip {
				return "-"
			}
			return name
		})
	})
	return validate
}

// validates reports whether a bound value goes through the validator: it is
// a struct with rules, or the program may have registered rules of its own.
func (p *Plan) validates() bool {
	return p.validate && (p.rules || custom.Load())
}

// hasRules reports whether a `binding` tag appears anywhere in struct type
// t: on its fields, or on the fields of the types they hold (through
// pointers, slices, arrays and maps), however deep.
func hasRules(t reflect.Type) bool {
	return tagged(t, map[reflect.Type]bool{})
}

func tagged(t reflect.Type, seen map[reflect.Type]bool) bool {
	for {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			t = t.Elem()
			continue
		case reflect.Map:
			if tagged(t.Key(), seen) {
				return true
			}
			t = t.Elem()
			continue
		case reflect.Struct:
		default:
			return false
		}
		break
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Tag.Get("binding") != "" || tagged(sf.Type, seen) {
			return true
		}
	}
	return false
}

// checkRules validates a zero value of struct type t once, so that a
// malformed `binding` tag (an unknown rule) is an error when the plan is
// made rather than a panic of the validator on the first request.
func checkRules(t reflect.Type) (err error) {
	if !hasRules(t) {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bad binding tag on %s: %v", t, p)
		}
	}()
	_ = rules().Struct(reflect.New(t).Interface()) // failing rules are expected; panics are not
	return nil
}

// check validates v (a pointer to the request value) and adds a FieldError
// for every failing field that did not already fail to parse. On the
// request type's own fields (its parameters, and the top-level fields of
// its JSON body) "required" means sent, as seen says: a field not sent is
// "is required" when it is required and unchecked otherwise; one sent with
// its zero value passes "required" and is checked against its other rules.
// In nested objects the validator's meaning, not the zero value, stays.
func (p *Plan) check(v any, fields []FieldError, seen *presence) ([]FieldError, error) {
	// The validator looks through one pointer only: a request type that is
	// itself a pointer (*T, bound whole) arrives here as **T.
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Pointer {
		if rv.Elem().IsNil() {
			return fields, nil // a JSON null: no value to validate
		}
		rv = rv.Elem()
	}
	err := rules().Struct(rv.Interface())
	if err == nil {
		return fields, nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		var inv *validator.InvalidValidationError
		if errors.As(err, &inv) {
			return fields, nil // not a struct: nothing to validate
		}
		return fields, err
	}
	own := p.Fields
	if p.Whole {
		own = p.top
	}
	root := rv.Elem()
	for _, fe := range verrs {
		i, exact := p.ownField(own, fe)
		if i < 0 {
			fields = addField(fields, p.location(fe), message(fe), fe.Tag())
			continue
		}
		f := &own[i]
		loc := p.fieldLocation(f)
		fv := root.FieldByIndex(f.Index)
		if fv.IsZero() && !seen.sent(f, i) {
			if f.Required {
				fields = addField(fields, loc, "is required", "required")
			}
			continue // not sent: its rules do not apply
		}
		if exact && fe.Tag() == "required" && f.Required {
			// Sent with its zero value: a value, checked against the
			// field's other rules.
			fields = p.checkRest(fields, f, fv, loc)
			continue
		}
		fields = addField(fields, p.location(fe), message(fe), fe.Tag())
	}
	return fields, nil
}

// checkRest checks a field sent with its zero value against its rules other
// than "required", and a struct's own fields.
func (p *Plan) checkRest(fields []FieldError, f *Field, fv reflect.Value, loc string) []FieldError {
	if f.rest != "" {
		if err := rules().Var(fv.Interface(), f.rest); err != nil {
			var verrs validator.ValidationErrors
			if errors.As(err, &verrs) {
				for _, fe := range verrs {
					fields = addField(fields, loc+fe.Namespace(), message(fe), fe.Tag())
				}
			}
		}
	}
	for fv.Kind() == reflect.Pointer && !fv.IsNil() {
		fv = fv.Elem()
	}
	if fv.Kind() == reflect.Struct && hasRules(fv.Type()) {
		if err := rules().Struct(fv.Interface()); err != nil {
			var verrs validator.ValidationErrors
			if errors.As(err, &verrs) {
				for _, fe := range verrs {
					ns := fe.Namespace()
					if _, rest, ok := strings.Cut(ns, "."); ok {
						ns = rest
					}
					fields = addField(fields, loc+"."+ns, message(fe), fe.Tag())
				}
			}
		}
	}
	return fields
}

// addField adds a FieldError unless one has the location already.
func addField(fields []FieldError, loc, msg, rule string) []FieldError {
	if hasLocation(fields, loc) {
		return fields
	}
	return append(fields, FieldError{Location: loc, Message: msg, Rule: rule})
}

// ownField returns the index in own of the field of the request type a
// validator error is about (-1 for none), and whether the error is about
// that field itself rather than something inside it.
func (p *Plan) ownField(own []Field, fe validator.FieldError) (int, bool) {
	ns := p.trimRoot(fe.StructNamespace())
	for i := range own {
		path := own[i].path
		if !strings.HasPrefix(ns, path) {
			continue
		}
		if len(ns) == len(path) {
			return i, true
		}
		if c := ns[len(path)]; c == '.' || c == '[' {
			return i, false
		}
	}
	return -1, false
}

// fieldLocation is the location of one of the request type's own fields.
func (p *Plan) fieldLocation(f *Field) string {
	if f.Source == Body {
		return "body." + f.Key
	}
	return f.Source.String() + "." + f.Key
}

func hasLocation(fields []FieldError, loc string) bool {
	for _, f := range fields {
		if f.Location == loc {
			return true
		}
	}
	return false
}

// location turns a validator namespace ("Req.items[0].name") into a location
// ("body.items[0].name", "query.my_int").
func (p *Plan) location(fe validator.FieldError) string {
	ns := p.trimRoot(fe.Namespace())
	if p.Whole {
		if ns == "" {
			return "body"
		}
		return "body." + ns
	}
	goNS := p.trimRoot(fe.StructNamespace())
	goFirst, _, _ := strings.Cut(goNS, ".")
	goFirst, _, _ = strings.Cut(goFirst, "[")
	if f := p.fieldNamed(goFirst); f != nil && f.Source != Body {
		_, rest, _ := strings.Cut(ns, ".")
		loc := f.Source.String() + "." + f.Key
		if rest != "" {
			loc += "." + rest
		}
		return loc
	}
	return "body." + ns
}

// trimRoot removes the request type's name that starts a validator
// namespace; an anonymous struct has none.
func (p *Plan) trimRoot(ns string) string {
	t := p.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name := t.Name(); name != "" {
		if rest, ok := strings.CutPrefix(ns, name+"."); ok {
			return rest
		}
		if ns == name {
			return ""
		}
	}
	return ns
}

func message(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "min", "gte":
		return "must be at least " + fe.Param()
	case "max", "lte":
		return "must be at most " + fe.Param()
	case "gt":
		return "must be greater than " + fe.Param()
	case "lt":
		return "must be less than " + fe.Param()
	case "len":
		return "must have length " + fe.Param()
	case "oneof":
		return "must be one of: " + fe.Param()
	case "email":
		return "must be an email address"
	case "url":
		return "must be a URL"
	}
	if fe.Param() != "" {
		return fmt.Sprintf("failed the %q rule (%s)", fe.Tag(), fe.Param())
	}
	return fmt.Sprintf("failed the %q rule", fe.Tag())
}
