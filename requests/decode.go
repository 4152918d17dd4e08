package requests

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// decoder sets a field from the textual values of one parameter: one takes
// the first value (a scalar or a pointer to one), many takes all of them (a
// slice). Exactly one of the two is set.
type decoder struct {
	one  func(v reflect.Value, s string) error
	many func(v reflect.Value, vals []string) error
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType        = reflect.TypeFor[time.Duration]()
)

func decoderFor(t reflect.Type) (decoder, error) {
	switch {
	case t.Kind() == reflect.Pointer:
		elem, err := scalarDecoder(t.Elem())
		if err != nil {
			return decoder{}, err
		}
		return decoder{one: func(v reflect.Value, s string) error {
			p := reflect.New(t.Elem())
			if err := elem(p.Elem(), s); err != nil {
				return err
			}
			v.Set(p)
			return nil
		}}, nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 && !t.Implements(textUnmarshalerType):
		elem, err := scalarDecoder(t.Elem())
		if err != nil {
			return decoder{}, err
		}
		return decoder{many: func(v reflect.Value, vals []string) error {
			s := reflect.MakeSlice(t, len(vals), len(vals))
			for i, val := range vals {
				if err := elem(s.Index(i), val); err != nil {
					return err
				}
			}
			v.Set(s)
			return nil
		}}, nil
	default:
		dec, err := scalarDecoder(t)
		if err != nil {
			return decoder{}, err
		}
		return decoder{one: dec}, nil
	}
}

// scalarDecoder returns a function that parses one textual value into v.
func scalarDecoder(t reflect.Type) (func(reflect.Value, string) error, error) {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return func(v reflect.Value, s string) error {
			return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
		}, nil
	}
	if t == durationType {
		return func(v reflect.Value, s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return fmt.Errorf("not a duration (like 1.5s or 300ms)")
			}
			v.SetInt(int64(d))
			return nil
		}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return func(v reflect.Value, s string) error { v.SetString(s); return nil }, nil
	case reflect.Bool:
		return func(v reflect.Value, s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("not a boolean")
			}
			v.SetBool(b)
			return nil
		}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return fmt.Errorf("not a valid integer (%d-bit)", bits)
			}
			v.SetInt(n)
			return nil
		}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			n, err := strconv.ParseUint(s, 10, bits)
			if err != nil {
				return fmt.Errorf("not a valid unsigned integer (%d-bit)", bits)
			}
			v.SetUint(n)
			return nil
		}, nil
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			f, err := strconv.ParseFloat(s, bits)
			if err != nil {
				return fmt.Errorf("not a valid number")
			}
			v.SetFloat(f)
			return nil
		}, nil
	}
	return nil, fmt.Errorf("cannot bind a parameter of type %s (use a string, number, bool, time.Time, time.Duration, an encoding.TextUnmarshaler, a pointer or a slice of those)", t)
}
