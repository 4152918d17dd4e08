package openapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/replicaflow/replicaflow/openapi/oas"
	"github.com/replicaflow/replicaflow/responses"
)

var (
	timeType          = reflect.TypeFor[time.Time]()
	durationType      = reflect.TypeFor[time.Duration]()
	uuidType          = reflect.TypeFor[uuid.UUID]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	problemType       = reflect.TypeFor[responses.Problem]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// durationPattern matches the text time.ParseDuration reads.
const durationPattern = `^[-+]?(0|((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$`

// componentPrefix starts every reference to a component schema.
const componentPrefix = "#/components/schemas/"

// reservedNames are component names kept for the framework's own types: a
// user type with the same name is qualified by its package.
var reservedNames = map[string]reflect.Type{"Problem": problemType}

// schemas turns Go types into schemas the way encoding/json renders them,
// for one side of the exchange. Named struct types become components; their
// names are chosen at the end, once every type is known, so that they do not
// depend on the order in which types were met (see names).
//
// The sides differ in what a required property means. In what the server
// reads (a request body), a field is required when its binding rule says it
// must be sent. In what it writes (a response), a field is required when
// encoding/json always writes it. A type met on both sides is one component
// when both say the same, and two otherwise (see pair).
type schemas struct {
	*catalog
	response bool // the side of what the server writes
}

// catalog holds the components of both sides.
type catalog struct {
	comps map[compKey]*component
	order []*component // first-seen order, for the last tie-break
}

type compKey struct {
	t        reflect.Type
	response bool
}

// component is a named struct type described once and referenced by $ref.
type component struct {
	t        reflect.Type
	response bool
	schema   *oas.Schema
	refs     []*oas.Schema // every reference, filled in by finish
	suffix   string        // added to the type's name: "Input" for a request side of its own
	name     string
}

// newSchemas returns the request side; its responses method gives the
// response side, which shares its components.
func newSchemas() *schemas {
	return &schemas{catalog: &catalog{comps: map[compKey]*component{}}}
}

// responses returns the response side of s.
func (s *schemas) responses() *schemas { return &schemas{catalog: s.catalog, response: true} }

// isComponent reports whether t is described as a component.
func isComponent(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.Name() != "" && special(t, false) == nil
}

// special returns the schema of the types that do not render as their
// kind says, or nil. param selects the text form of parameters and form
// fields (a duration is "1.5s" there, and nanoseconds in JSON).
func special(t reflect.Type, param bool) *oas.Schema {
	switch t {
	case timeType:
		return formatted("string", "date-time")
	case uuidType:
		return formatted("string", "uuid")
	case rawMessageType:
		return &oas.Schema{}
	case durationType:
		if param {
			s := typed("string")
			s.Description = "a duration: a number with a unit, like 300ms, 1.5s or 2h45m"
			s.Example = "1.5s"
			s.Pattern = durationPattern
			return s
		}
		s := formatted("integer", "int64")
		s.Description = "a duration in nanoseconds"
		return s
	}
	if param {
		if reflect.PointerTo(t).Implements(textUnmarshalType) {
			return typed("string")
		}
		return nil
	}
	if t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType) {
		return &oas.Schema{} // renders itself: anything
	}
	if t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return typed("string")
	}
	return nil
}

// ref returns a fresh schema for t as a JSON value. It is fresh so that a
// caller may add constraints to it, except for component references.
func (s *schemas) ref(t reflect.Type) (*oas.Schema, error) {
	if t.Kind() == reflect.Pointer {
		elem := t.Elem()
		for elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		inner, err := s.ref(elem)
		if err != nil {
			return nil, err
		}
		if inner.Ref != "" {
			// Nothing may stand beside a $ref in OpenAPI 3.0; nullable
			// wants a type beside it (components are objects).
			sc := &oas.Schema{Nullable: true, AllOf: []*oas.Schema{inner}}
			if elem.Kind() == reflect.Struct {
				sc.Type = "object"
			}
			return sc, nil
		}
		inner.Nullable = true
		return inner, nil
	}
	if sc := special(t, false); sc != nil {
		return sc, nil
	}
	if isComponent(t) {
		return s.componentRef(t)
	}
	return s.inline(t)
}

// componentRef describes t once and returns a new reference to it.
func (s *schemas) componentRef(t reflect.Type) (*oas.Schema, error) {
	key := compKey{t, s.response}
	c, ok := s.comps[key]
	if !ok {
		c = &component{t: t, response: s.response, schema: &oas.Schema{}}
		s.comps[key] = c
		s.order = append(s.order, c)
		// Registered before its fields are described, so a type that
		// contains itself refers to itself.
		sc, err := s.object(t)
		if err != nil {
			return nil, err
		}
		*c.schema = *sc
	}
	r := &oas.Schema{Ref: componentPrefix + "?"}
	c.refs = append(c.refs, r)
	return r, nil
}

// inline describes the kinds that are not components.
func (s *schemas) inline(t reflect.Type) (*oas.Schema, error) {
	switch t.Kind() {
	case reflect.Bool:
		return typed("boolean"), nil
	case reflect.String:
		return typed("string"), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return numberSchema(t), nil
	case reflect.Interface:
		return &oas.Schema{}, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return formatted("string", "byte"), nil // base64, as encoding/json does
		}
		fallthrough
	case reflect.Array:
		items, err := s.ref(t.Elem())
		if err != nil {
			return nil, err
		}
		nilIsNull(items, t.Elem(), false)
		sc := arrayOf(items)
		if t.Kind() == reflect.Array {
			n := uint64(t.Len())
			sc.MinItems, sc.MaxItems = n, &n
		}
		return sc, nil
	case reflect.Map:
		switch k := t.Key(); {
		case k.Kind() == reflect.String, k.Kind() >= reflect.Int && k.Kind() <= reflect.Uint64,
			reflect.PointerTo(k).Implements(textMarshalerType) || k.Implements(textMarshalerType):
		default:
			return nil, fmt.Errorf("map key type %s cannot be JSON", k)
		}
		vals, err := s.ref(t.Elem())
		if err != nil {
			return nil, err
		}
		nilIsNull(vals, t.Elem(), false)
		return &oas.Schema{Type: "object", AdditionalProperties: &oas.Additional{Schema: vals}}, nil
	case reflect.Struct:
		return s.object(t)
	}
	return nil, fmt.Errorf("type %s cannot be JSON", t)
}

func numberSchema(t reflect.Type) *oas.Schema {
	var sc *oas.Schema
	switch t.Kind() {
	case reflect.Float32:
		return formatted("number", "float")
	case reflect.Float64:
		return formatted("number", "double")
	case reflect.Int32, reflect.Int16, reflect.Int8, reflect.Uint8, reflect.Uint16:
		sc = formatted("integer", "int32")
	default:
		sc = formatted("integer", "int64")
	}
	switch t.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		lo, hi := intRange(t)
		sc.Minimum, sc.Maximum = &lo, &hi
	case reflect.Uint, reflect.Uint64:
		zero := 0.0
		sc.Minimum = &zero
	}
	return sc
}

func intRange(t reflect.Type) (float64, float64) {
	bits := t.Bits()
	if t.Kind() >= reflect.Uint {
		return 0, float64(uint64(1)<<bits - 1)
	}
	return -float64(int64(1) << (bits - 1)), float64(int64(1)<<(bits-1) - 1)
}

// object describes a struct as encoding/json renders it: its fields, with
// `binding` rules as constraints, and as required fields on the request
// side; on the response side the fields encoding/json always writes are
// required.
func (s *schemas) object(t reflect.Type) (*oas.Schema, error) {
	sc := object()
	for _, f := range jsonFields(t) {
		ref, err := s.ref(f.typ)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t, f.goName, err)
		}
		if f.asString {
			ref = stringified(ref)
		}
		binding := f.tag.Get("binding")
		nilIsNull(ref, f.typ, f.omitted || hasRule(binding, "required"))
		applyRules(ref, f.typ, binding)
		sc.Properties[f.name] = documented(ref, f.tag.Get("doc"), f.tag.Get("example"))
		if s.response && f.always || !s.response && hasRule(binding, "required") {
			sc.Required = append(sc.Required, f.name)
		}
	}
	return sc, nil
}

// nilIsNull marks the schema of a slice or map nullable: encoding/json
// writes a nil one as null, and the document must say so. It leaves out a
// field that cannot be null: one that is omitted when empty (omitempty,
// omitzero) or required (a required field must be sent with a value). Types
// that render themselves (json.Marshaler) say nothing of null here.
func nilIsNull(sc *oas.Schema, t reflect.Type, notNull bool) {
	if notNull || sc == nil || sc.Ref != "" {
		return
	}
	if (t.Kind() == reflect.Slice || t.Kind() == reflect.Map) && special(t, false) == nil {
		sc.Nullable = true
	}
}

// stringified is the schema of a field tagged `json:",string"`: numbers and
// booleans travel as strings.
func stringified(sc *oas.Schema) *oas.Schema {
	if sc.Ref == "" && (sc.Type == "integer" || sc.Type == "number" || sc.Type == "boolean") {
		return &oas.Schema{Type: "string", Nullable: sc.Nullable}
	}
	return sc
}

// jsonField is a field of a struct as encoding/json sees it.
type jsonField struct {
	name     string
	goName   string
	index    []int
	typ      reflect.Type
	tag      reflect.StructTag
	tagged   bool
	asString bool
	always   bool // encoding/json writes it whatever its value
	omitted  bool // omitempty or omitzero: a nil slice or map is left out
}

// jsonFields lists the fields encoding/json writes for t, embedded fields
// promoted, in the order it writes them.
func jsonFields(t reflect.Type) []jsonField {
	var all []jsonField
	// viaPointer: the fields are promoted through an embedded pointer,
	// which encoding/json skips when it is nil.
	var walk func(t reflect.Type, index []int, viaPointer bool, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, index []int, viaPointer bool, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		defer delete(seen, t)
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), index...), i)
			if sf.Anonymous {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && ft.Kind() != reflect.Struct {
					continue
				}
				if name == "" && ft.Kind() == reflect.Struct {
					walk(ft, idx, viaPointer || sf.Type.Kind() == reflect.Pointer, seen)
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			if sf.Type.Kind() == reflect.Func || sf.Type.Kind() == reflect.Chan {
				continue // never JSON; a request type may carry one for its own use
			}
			f := jsonField{name: name, goName: sf.Name, index: idx, typ: sf.Type, tag: sf.Tag, tagged: name != "", always: !viaPointer}
			if f.name == "" {
				f.name = sf.Name
			}
			for o := range strings.SplitSeq(opts, ",") {
				switch o {
				case "string":
					f.asString = true
				case "omitzero":
					f.always = false
					f.omitted = true
				case "omitempty":
					f.always = f.always && neverEmpty(sf.Type)
					f.omitted = true
				}
			}
			all = append(all, f)
		}
	}
	walk(t, nil, false, map[reflect.Type]bool{})

	// encoding/json's dominance rule: the shallowest field of a name wins;
	// at equal depth a tagged one wins; otherwise the name is dropped.
	byName := map[string][]jsonField{}
	for _, f := range all {
		byName[f.name] = append(byName[f.name], f)
	}
	var out []jsonField
	for _, f := range all {
		fs := byName[f.name]
		if len(fs) == 1 {
			out = append(out, f)
			continue
		}
		if w, ok := dominant(fs); ok && sameIndex(w.index, f.index) {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return lessIndex(out[i].index, out[j].index) })
	return out
}

// neverEmpty reports whether omitempty never omits a value of type t: a
// struct, or an array of some length, is never empty to encoding/json.
func neverEmpty(t reflect.Type) bool {
	return t.Kind() == reflect.Struct || t.Kind() == reflect.Array && t.Len() > 0
}

func dominant(fs []jsonField) (jsonField, bool) {
	depth := len(fs[0].index)
	for _, f := range fs {
		depth = min(depth, len(f.index))
	}
	var top []jsonField
	for _, f := range fs {
		if len(f.index) == depth {
			top = append(top, f)
		}
	}
	if len(top) == 1 {
		return top[0], true
	}
	var tagged []jsonField
	for _, f := range top {
		if f.tagged {
			tagged = append(tagged, f)
		}
	}
	if len(tagged) == 1 {
		return tagged[0], true
	}
	return jsonField{}, false
}

func sameIndex(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func lessIndex(a, b []int) bool {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// finish names every component and writes it into comps.
func (s *schemas) finish(comps map[string]*oas.Schema) {
	s.pair()
	names(s.order)
	for _, c := range s.order {
		for _, r := range c.refs {
			r.Ref = componentPrefix + c.name
		}
		comps[c.name] = c.schema
	}
}

// pair decides, for each type described on both sides, whether one
// component serves both: when the two schemas are the same, references
// included. Otherwise the response side keeps the type's name and the
// request side is named with the suffix "Input".
func (s *catalog) pair() {
	ids := map[reflect.Type]int{}
	var both []reflect.Type
	for _, c := range s.order {
		if _, ok := ids[c.t]; !ok {
			ids[c.t] = len(ids)
		} else {
			both = append(both, c.t)
		}
	}
	if len(both) == 0 {
		return
	}
	// Two schemas are the same when they render the same with every
	// reference labelled by its target: the type, and its side when the
	// type is split. Splitting a type may make the schemas that refer to
	// it differ, so this runs until nothing more splits.
	split := map[reflect.Type]bool{}
	render := func(c *component) string {
		b, _ := json.Marshal(c.schema) // a schema of ours always marshals
		return string(b)
	}
	for changed := true; changed; {
		changed = false
		for _, c := range s.order {
			label := componentPrefix + strconv.Itoa(ids[c.t])
			if split[c.t] {
				label += "." + strconv.FormatBool(c.response)
			}
			for _, r := range c.refs {
				r.Ref = label
			}
		}
		for _, t := range both {
			in, out := s.comps[compKey{t, false}], s.comps[compKey{t, true}]
			if !split[t] && render(in) != render(out) {
				split[t], changed = true, true
			}
		}
	}
	var order []*component
	placed := map[reflect.Type]bool{}
	for _, c := range s.order {
		_, paired := s.comps[compKey{c.t, !c.response}]
		switch {
		case !paired || split[c.t]:
			if paired && !c.response {
				c.suffix = "Input"
			}
			order = append(order, c)
		case !placed[c.t]:
			// One component for both, kept where the first was met.
			in, out := s.comps[compKey{c.t, false}], s.comps[compKey{c.t, true}]
			out.refs = append(out.refs, in.refs...)
			in.refs = nil
			order = append(order, out)
			placed[c.t] = true
		}
	}
	s.order = order
}

// Schema constructors, as the builder uses them.
func typed(t string) *oas.Schema                           { return &oas.Schema{Type: t} }
func formatted(t, format string) *oas.Schema               { return &oas.Schema{Type: t, Format: format} }
func object() *oas.Schema                                  { return &oas.Schema{Type: "object", Properties: map[string]*oas.Schema{}} }
func arrayOf(items *oas.Schema) *oas.Schema                { return &oas.Schema{Type: "array", Items: items} }
func jsonContent(sc *oas.Schema) map[string]*oas.MediaType { return contentOf(sc, "application/json") }

// contentOf is a body of each of the media types with schema sc.
func contentOf(sc *oas.Schema, types ...string) map[string]*oas.MediaType {
	c := make(map[string]*oas.MediaType, len(types))
	for _, t := range types {
		c[t] = &oas.MediaType{Schema: sc}
	}
	return c
}
