package openapi

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/replicaflow/replicaflow/openapi/oas"
	"github.com/replicaflow/replicaflow/requests"
)

// hasRule reports whether a `binding` tag holds rule (before any "dive").
func hasRule(binding, rule string) bool {
	for r := range strings.SplitSeq(binding, ",") {
		if r == "dive" {
			return false
		}
		if r == rule {
			return true
		}
	}
	return false
}

// applyRules writes the validator rules of a `binding` tag that JSON Schema
// can say into ref: oneof as an enum, min/max/len/gt/gte/lt/lte as bounds
// (of the value, the length or the number of items, after the type),
// email, url and uuid as formats, and alpha, alphanum, numeric, number and
// hexadecimal as patterns. Rules after "dive" apply to the items. A
// component reference stays as it is: nothing may stand beside a $ref.
func applyRules(sc *oas.Schema, t reflect.Type, binding string) {
	if binding == "" || sc == nil || sc.Ref != "" {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	rules := strings.Split(binding, ",")
	for i, r := range rules {
		if r == "dive" {
			switch {
			case sc.Items != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
				applyRules(sc.Items, t.Elem(), strings.Join(rules[i+1:], ","))
			case sc.AdditionalProperties != nil && sc.AdditionalProperties.Schema != nil && t.Kind() == reflect.Map:
				applyRules(sc.AdditionalProperties.Schema, t.Elem(), strings.Join(rules[i+1:], ","))
			}
			return
		}
		if strings.Contains(r, "|") {
			continue // alternatives: no single constraint holds
		}
		name, param, _ := strings.Cut(r, "=")
		switch name {
		case "oneof":
			sc.Enum = enumValues(t, param)
		case "min", "gte":
			bound(sc, t, param, true, false)
		case "max", "lte":
			bound(sc, t, param, false, false)
		case "gt":
			bound(sc, t, param, true, true)
		case "lt":
			bound(sc, t, param, false, true)
		case "len", "eq":
			if name == "len" || t.Kind() != reflect.String {
				bound(sc, t, param, true, false)
				bound(sc, t, param, false, false)
			}
		case "email":
			sc.Format = "email"
		case "url", "uri", "http_url":
			sc.Format = "uri"
		case "uuid", "uuid3", "uuid4", "uuid5", "uuid_rfc4122":
			sc.Format = "uuid"
		case "ipv4", "ipv6", "hostname":
			sc.Format = name
		case "alpha", "alphanum", "numeric", "number", "hexadecimal":
			if sc.Type == "string" {
				sc.Pattern = patterns[name]
			}
		case "datetime":
			if param == "2006-01-02" {
				sc.Format = "date"
			}
		}
	}
}

// patterns are the validator's character rules as JSON Schema patterns, the
// same regular expressions go-playground/validator matches.
var patterns = map[string]string{
	"alpha":       `^[a-zA-Z]+$`,
	"alphanum":    `^[a-zA-Z0-9]+$`,
	"numeric":     `^[-+]?[0-9]+(?:\.[0-9]+)?$`,
	"number":      `^[0-9]+$`,
	"hexadecimal": `^(0[xX])?[0-9a-fA-F]+$`,
}

// bound sets a lower (lo) or upper bound: on the value of a number, on the
// length of a string, on the items of an array, on the properties of a map.
func bound(sc *oas.Schema, t reflect.Type, param string, lo, exclusive bool) {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if t == durationType {
			return // written like "1s" in the tag
		}
		v, err := strconv.ParseFloat(param, 64)
		if err != nil {
			return
		}
		if lo {
			sc.Minimum, sc.ExclusiveMinimum = &v, exclusive
		} else {
			sc.Maximum, sc.ExclusiveMaximum = &v, exclusive
		}
		return
	}
	n, err := strconv.ParseUint(param, 10, 64)
	if err != nil {
		return
	}
	if exclusive {
		if lo {
			n++
		} else if n == 0 {
			return
		} else {
			n--
		}
	}
	switch {
	case t.Kind() == reflect.String && sc.Type == "string":
		if lo {
			sc.MinLength = n
		} else {
			sc.MaxLength = &n
		}
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && sc.Type == "array":
		if lo {
			sc.MinItems = n
		} else {
			sc.MaxItems = &n
		}
	case t.Kind() == reflect.Map:
		if lo {
			sc.MinProperties = n
		} else {
			sc.MaxProperties = &n
		}
	}
}

// enumValues parses the values of a oneof rule: separated by spaces, quoted
// with single quotes when they hold one, typed like the field.
func enumValues(t reflect.Type, param string) []any {
	var words []string
	for param != "" {
		param = strings.TrimLeft(param, " ")
		if param == "" {
			break
		}
		if param[0] == '\'' {
			if end := strings.IndexByte(param[1:], '\''); end >= 0 {
				words = append(words, param[1:1+end])
				param = param[2+end:]
				continue
			}
		}
		w, rest, _ := strings.Cut(param, " ")
		words = append(words, w)
		param = rest
	}
	vals := make([]any, 0, len(words))
	for _, w := range words {
		switch t.Kind() {
		case reflect.String:
			vals = append(vals, w)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if n, err := strconv.ParseInt(w, 10, 64); err == nil {
				vals = append(vals, n)
			}
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if n, err := strconv.ParseUint(w, 10, 64); err == nil {
				vals = append(vals, n)
			}
		case reflect.Float32, reflect.Float64:
			if f, err := strconv.ParseFloat(w, 64); err == nil {
				vals = append(vals, f)
			}
		}
	}
	if len(vals) == 0 {
		return nil
	}
	return vals
}

func cutComma(s string) (string, string, bool) { return strings.Cut(s, ",") }

func splitComma(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// documented returns ref with the `doc` text as its description and the
// `example` text as its example. A component reference is wrapped in allOf,
// since nothing may stand beside a $ref in OpenAPI 3.0.
func documented(sc *oas.Schema, doc, example string) *oas.Schema {
	if sc == nil || doc == "" && example == "" {
		return sc
	}
	if sc.Ref != "" {
		sc = &oas.Schema{AllOf: []*oas.Schema{sc}}
	}
	if doc != "" {
		sc.Description = doc
	}
	if example != "" {
		sc.Example = tagValue(sc, example, false)
	}
	return sc
}

// tagValue is the value a tag's text stands for in a schema: a number or a
// boolean for those types, the text for a string, and for an array a list of
// them — param says the text is a parameter's one value (an array of one);
// otherwise the text of an array or object is JSON. Text that does not fit
// stays text.
func tagValue(sc *oas.Schema, text string, param bool) any {
	typ := sc.Type
	if typ == "" && len(sc.AllOf) == 1 {
		typ = sc.AllOf[0].Type
		if sc.AllOf[0].Ref != "" {
			typ = "object" // components are structs
		}
	}
	switch typ {
	case "integer":
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
		if n, err := strconv.ParseUint(text, 10, 64); err == nil {
			return n
		}
	case "number":
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return f
		}
	case "boolean":
		if b, err := strconv.ParseBool(text); err == nil {
			return b
		}
	case "array":
		if param && sc.Items != nil {
			return []any{tagValue(sc.Items, text, true)}
		}
		fallthrough
	case "object":
		var v any
		if json.Unmarshal([]byte(text), &v) == nil {
			return v
		}
	}
	return text
}

// paramDocs writes a parameter's or form field's `doc`, `example` and
// `default` tags into its schema (and p, for a parameter: its description
// and example).
func paramDocs(p *oas.Parameter, sc *oas.Schema, f *requests.Field) {
	if f.HasDefault {
		sc.Default = tagValue(sc, f.Default, true)
	}
	if p == nil {
		if f.Doc != "" {
			sc.Description = f.Doc
		}
		if f.Example != "" {
			sc.Example = tagValue(sc, f.Example, true)
		}
		return
	}
	p.Description = f.Doc
	if f.Example != "" {
		p.Example = tagValue(sc, f.Example, true)
	}
}
