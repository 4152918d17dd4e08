package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Generate returns cases made from the document alone. For each operation:
// a request filled in as Swagger UI fills it (each value its schema's
// example, default or first enum value, else a value of its type within its
// bounds), with the required inputs only and with all of them; then bad
// variants of it: each required parameter or body field missing, each typed
// one of the wrong type, and for a body a malformed one, an empty one, the
// wrong media type, null and an array. A HEAD for each GET, an unknown method
// on each path and an unknown path complete the set. Operations that upgrade
// to a WebSocket (101) are left out: an HTTP client cannot drive them.
func (s *Suite) Generate() []Case {
	var cases []Case
	for _, path := range s.doc.Paths.InMatchingOrder() {
		item := s.doc.Paths.Value(path)
		ops := item.Operations()
		methods := make([]string, 0, len(ops))
		for m := range ops {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		var target string
		for _, m := range methods {
			op := ops[m]
			if op.Responses.Status(http.StatusSwitchingProtocols) != nil {
				continue
			}
			g := gen{method: m, path: path, op: op, params: append(item.Parameters, op.Parameters...)}
			cases = append(cases, g.cases()...)
			target = g.target(nil, false)
			if m == http.MethodGet && ops[http.MethodHead] == nil {
				cases = append(cases, Case{Name: "HEAD " + path, Method: http.MethodHead, Target: target, Header: g.header(nil, false)})
			}
		}
		if target != "" {
			for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost} {
				if ops[m] == nil {
					cases = append(cases, Case{Name: m + " " + path + " unknown method", Method: m, Target: target})
					break
				}
			}
		}
	}
	cases = append(cases, Case{Name: "GET unknown path", Method: http.MethodGet, Target: "/conformance-no-such-path/x"})
	return cases
}

// gen makes the cases of one operation.
type gen struct {
	method, path string
	op           *openapi3.Operation
	params       openapi3.Parameters
}

// skip names the input a bad variant leaves out or replaces.
type change struct {
	in, name string // "path", "query", "header", "cookie", "body"
	value    *string
}

func (g gen) name(what string) string { return g.method + " " + g.path + " " + what }

func (g gen) cases() []Case {
	var cases []Case
	good := func(all bool) Case {
		c := Case{Method: g.method, Target: g.target(nil, all), Header: g.header(nil, all)}
		if ct, body, ok := g.body(all, ""); ok {
			c.Header.Set("Content-Type", ct)
			c.Body = body
		}
		return c
	}
	c := good(false)
	c.Name = g.name("good, required inputs")
	cases = append(cases, c)
	if g.hasOptional() {
		c := good(true)
		c.Name = g.name("good, all inputs")
		cases = append(cases, c)
	}

	for _, pr := range g.params {
		p := pr.Value
		if p.Required && p.In != openapi3.ParameterInPath {
			ch := &change{in: p.In, name: p.Name}
			c := Case{Name: g.name(p.In + " " + p.Name + " missing"), Method: g.method, Target: g.target(ch, false), Header: g.header(ch, false)}
			g.addBody(&c, false)
			cases = append(cases, c)
		}
		if bad, ok := wrongText(p.Schema); ok {
			ch := &change{in: p.In, name: p.Name, value: &bad}
			c := Case{Name: g.name(p.In + " " + p.Name + " not " + article(typeName(p.Schema))), Method: g.method, Target: g.target(ch, true), Header: g.header(ch, true)}
			g.addBody(&c, true)
			cases = append(cases, c)
		}
	}
	return append(cases, g.bodyCases()...)
}

// hasOptional reports whether the operation has inputs a request may leave
// out.
func (g gen) hasOptional() bool {
	for _, p := range g.params {
		if !p.Value.Required {
			return true
		}
	}
	if mt, _ := g.media(); mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
		sc := mt.Schema.Value
		return len(sc.Properties) > len(sc.Required)
	}
	return false
}

// target is the path and query of a request, with ch applied.
func (g gen) target(ch *change, all bool) string {
	path := g.path
	q := url.Values{}
	for _, pr := range g.params {
		p := pr.Value
		v := paramText(p)
		if ch != nil && ch.in == p.In && ch.name == p.Name {
			if ch.value == nil {
				continue
			}
			v = *ch.value
		}
		switch p.In {
		case openapi3.ParameterInPath:
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
		case openapi3.ParameterInQuery:
			if p.Required || all || (ch != nil && ch.name == p.Name) {
				q.Set(p.Name, v)
			}
		}
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}

// header is the headers and cookies of a request, with ch applied.
func (g gen) header(ch *change, all bool) http.Header {
	h := http.Header{}
	var cookies []string
	for _, pr := range g.params {
		p := pr.Value
		if p.In != openapi3.ParameterInHeader && p.In != openapi3.ParameterInCookie {
			continue
		}
		v := paramText(p)
		if ch != nil && ch.in == p.In && ch.name == p.Name {
			if ch.value == nil {
				continue
			}
			v = *ch.value
		} else if !p.Required && !all {
			continue
		}
		if p.In == openapi3.ParameterInHeader {
			h.Set(p.Name, v)
		} else {
			cookies = append(cookies, p.Name+"="+v)
		}
	}
	if len(cookies) > 0 {
		h.Set("Cookie", strings.Join(cookies, "; "))
	}
	return h
}

func (g gen) addBody(c *Case, all bool) {
	if ct, body, ok := g.body(all, ""); ok {
		c.Header.Set("Content-Type", ct)
		c.Body = body
	}
}

// media returns the request body's first media type by preference: JSON,
// multipart, urlencoded, then any.
func (g gen) media() (*openapi3.MediaType, string) {
	if g.op.RequestBody == nil || g.op.RequestBody.Value == nil {
		return nil, ""
	}
	content := g.op.RequestBody.Value.Content
	for _, mt := range []string{"application/json", "multipart/form-data", "application/x-www-form-urlencoded", "*/*"} {
		if m := content[mt]; m != nil {
			return m, mt
		}
	}
	for mt, m := range content {
		return m, mt
	}
	return nil, ""
}

// body is a good request body, all of its fields or the required ones, less
// the field named drop.
func (g gen) body(all bool, drop string) (string, []byte, bool) {
	m, mt := g.media()
	if m == nil {
		return "", nil, false
	}
	switch mt {
	case "application/json":
		v := sample(m.Schema, all, 0)
		if obj, ok := v.(map[string]any); ok && drop != "" {
			delete(obj, drop)
		}
		data, _ := json.Marshal(v)
		return mt, data, true
	case "multipart/form-data", "application/x-www-form-urlencoded":
		return form(mt, m.Schema, all, drop)
	case "*/*":
		return "application/octet-stream", []byte("conformance"), true
	}
	if strings.Contains(mt, "json") {
		data, _ := json.Marshal(sample(m.Schema, all, 0))
		return mt, data, true
	}
	return mt, []byte("conformance"), true
}

// bodyCases are the bad variants of the body.
func (g gen) bodyCases() []Case {
	m, mt := g.media()
	if m == nil || m.Schema == nil || m.Schema.Value == nil {
		return nil
	}
	required := g.op.RequestBody.Value.Required
	base := func(name, ct string, body []byte) Case {
		c := Case{Name: g.name(name), Method: g.method, Target: g.target(nil, false), Header: g.header(nil, false), Body: body}
		if ct != "" {
			c.Header.Set("Content-Type", ct)
		}
		return c
	}
	var cases []Case
	sc := m.Schema.Value
	for _, f := range sc.Required {
		ct, body, _ := g.body(true, f)
		cases = append(cases, base("body "+f+" missing", ct, body))
	}
	switch mt {
	case "application/json":
		for _, f := range sortedKeys(sc.Properties) {
			bad, ok := wrongJSON(sc.Properties[f])
			if !ok {
				continue
			}
			v := sample(m.Schema, true, 0).(map[string]any)
			v[f] = bad
			data, _ := json.Marshal(v)
			cases = append(cases, base("body "+f+" not "+article(typeName(sc.Properties[f])), mt, data))
		}
		good, _ := json.Marshal(sample(m.Schema, false, 0))
		cases = append(cases,
			base("body malformed", mt, []byte(`{"`)),
			base("body trailing data", mt, append(slices.Clone(good), " {}"...)),
			base("body null", mt, []byte("null")),
			base("body wrong media type", "text/plain", good),
		)
		if sc.Type.Is("object") {
			cases = append(cases, base("body an array", mt, []byte("[]")))
		}
		if required {
			cases = append(cases, base("body empty", mt, nil))
		}
	case "multipart/form-data", "application/x-www-form-urlencoded":
		cases = append(cases,
			base("body wrong media type", "application/json", []byte("{}")),
			base("body multipart without boundary", "multipart/form-data", []byte("--x\r\n")),
		)
	}
	return cases
}

// form is a multipart or urlencoded body of schema's properties.
func form(mt string, schema *openapi3.SchemaRef, all bool, drop string) (string, []byte, bool) {
	if schema == nil || schema.Value == nil {
		return mt, nil, true
	}
	sc := schema.Value
	var buf bytes.Buffer
	var w *multipart.Writer
	vals := url.Values{}
	if mt == "multipart/form-data" {
		w = multipart.NewWriter(&buf)
	}
	for _, name := range sortedKeys(sc.Properties) {
		if name == drop || (!all && !slices.Contains(sc.Required, name)) {
			continue
		}
		p := sc.Properties[name].Value
		files := 0
		switch {
		case p.Type.Is("string") && p.Format == "binary":
			files = 1
		case p.Type.Is("array") && p.Items != nil && p.Items.Value.Type.Is("string") && p.Items.Value.Format == "binary":
			files = 2
		}
		if files > 0 && w != nil {
			for i := range files {
				fw, _ := w.CreateFormFile(name, fmt.Sprintf("%s-%d.txt", name, i))
				fw.Write([]byte("conformance"))
			}
			continue
		}
		var texts []string
		if p.Type.Is("array") {
			for _, v := range sample(sc.Properties[name], all, 0).([]any) {
				texts = append(texts, text(v))
			}
		} else {
			texts = []string{text(sample(sc.Properties[name], all, 0))}
		}
		for _, t := range texts {
			if w != nil {
				w.WriteField(name, t)
			} else {
				vals.Add(name, t)
			}
		}
	}
	if w == nil {
		return mt, []byte(vals.Encode()), true
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes(), true
}

// sample is the value Swagger UI fills in for a schema: its example, its
// default, its first enum value, or a value of its type within its bounds;
// an object with all its properties, or its required ones.
func sample(ref *openapi3.SchemaRef, all bool, depth int) any {
	if ref == nil || ref.Value == nil || depth > 8 {
		return nil
	}
	sc := ref.Value
	switch {
	case sc.Example != nil:
		return sc.Example
	case sc.Default != nil:
		return sc.Default
	case len(sc.Enum) > 0:
		return sc.Enum[0]
	case len(sc.AllOf) > 0:
		return sample(sc.AllOf[0], all, depth+1)
	case len(sc.OneOf) > 0:
		return sample(sc.OneOf[0], all, depth+1)
	case len(sc.AnyOf) > 0:
		return sample(sc.AnyOf[0], all, depth+1)
	}
	switch {
	case sc.Type.Is("integer"), sc.Type.Is("number"):
		v := 0.0
		if sc.Min != nil && v < *sc.Min {
			v = *sc.Min
			if sc.ExclusiveMin.Bool != nil && *sc.ExclusiveMin.Bool {
				v++
			}
		}
		if sc.Max != nil && v > *sc.Max {
			v = *sc.Max
		}
		if sc.Type.Is("integer") {
			return int64(math.Ceil(v))
		}
		return v
	case sc.Type.Is("boolean"):
		return true
	case sc.Type.Is("string"):
		s := "string"
		switch sc.Format {
		case "date-time":
			s = "2026-01-02T15:04:05Z"
		case "date":
			s = "2026-01-02"
		case "uuid":
			s = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
		case "email":
			s = "user@example.com"
		case "uri", "uri-reference":
			s = "https://example.com/"
		case "byte":
			s = "Y29uZm9ybWFuY2U="
		case "ipv4":
			s = "192.0.2.1"
		case "ipv6":
			s = "2001:db8::1"
		case "hostname":
			s = "example.com"
		}
		for uint64(len(s)) < sc.MinLength {
			s += "s"
		}
		if sc.MaxLength != nil && uint64(len(s)) > *sc.MaxLength {
			s = s[:*sc.MaxLength]
		}
		return s
	case sc.Type.Is("array"):
		n := max(sc.MinItems, 1)
		if sc.MaxItems != nil {
			n = min(n, *sc.MaxItems)
		}
		out := make([]any, n)
		for i := range out {
			out[i] = sample(sc.Items, all, depth+1)
		}
		return out
	case sc.Type.Is("object") || len(sc.Properties) > 0:
		out := map[string]any{}
		for name, p := range sc.Properties {
			if all || slices.Contains(sc.Required, name) {
				out[name] = sample(p, all, depth+1)
			}
		}
		if ap := sc.AdditionalProperties.Schema; ap != nil && all {
			out["additionalProp1"] = sample(ap, all, depth+1)
		}
		return out
	}
	return "conformance" // no type: anything
}

// paramText is a parameter's sample value as text.
func paramText(p *openapi3.Parameter) string {
	if p.Example != nil {
		return text(p.Example)
	}
	v := sample(p.Schema, false, 0)
	if list, ok := v.([]any); ok && len(list) > 0 {
		return text(list[0])
	}
	return text(v)
}

// text is a value as a parameter or form field carries it.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// wrongText is a parameter value of the wrong type, when the type excludes
// some text.
func wrongText(ref *openapi3.SchemaRef) (string, bool) {
	if ref == nil || ref.Value == nil {
		return "", false
	}
	sc := ref.Value
	if sc.Type.Is("array") && sc.Items != nil {
		return wrongText(sc.Items)
	}
	switch {
	case sc.Type.Is("integer"), sc.Type.Is("number"), sc.Type.Is("boolean"):
		return "conformance", true
	}
	return "", false
}

// wrongJSON is a JSON value of the wrong type for a field.
func wrongJSON(ref *openapi3.SchemaRef) (any, bool) {
	if ref == nil || ref.Value == nil || ref.Value.Type == nil {
		return nil, false
	}
	if ref.Value.Type.Is("string") {
		return 12, true
	}
	return "conformance", true
}

func typeName(ref *openapi3.SchemaRef) string {
	if ref == nil || ref.Value == nil || ref.Value.Type == nil || len(*ref.Value.Type) == 0 {
		return "value"
	}
	if ref.Value.Type.Is("array") {
		return "array of " + typeName(ref.Value.Items)
	}
	return (*ref.Value.Type)[0]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// article puts "a" or "an" before a type's name.
func article(name string) string {
	if strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}
