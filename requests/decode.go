package requests

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
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
	timeType            = reflect.TypeFor[time.Time]()
	uuidType            = reflect.TypeFor[uuid.UUID]()
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
// Its errors say in words what the value should have been.
func scalarDecoder(t reflect.Type) (func(reflect.Value, string) error, error) {
	switch t {
	case timeType:
		return func(v reflect.Value, s string) error {
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return errors.New("not an RFC 3339 time (like 2006-01-02T15:04:05Z)")
			}
			v.Set(reflect.ValueOf(tm))
			return nil
		}, nil
	case uuidType:
		return func(v reflect.Value, s string) error {
			id, err := uuid.Parse(s)
			if err != nil {
				return errors.New("not a UUID (like 123e4567-e89b-12d3-a456-426614174000)")
			}
			v.Set(reflect.ValueOf(id))
			return nil
		}, nil
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return func(v reflect.Value, s string) error {
			return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
		}, nil
	}
	if t == durationType {
		return func(v reflect.Value, s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return errors.New("not a duration like 1m30s (units ns, us, ms, s, m, h)")
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
				return errors.New("not a boolean (true or false)")
			}
			v.SetBool(b)
			return nil
		}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return intError(err, t)
			}
			v.SetInt(n)
			return nil
		}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			n, err := strconv.ParseUint(s, 10, bits)
			if err != nil {
				if errors.Is(err, strconv.ErrSyntax) && strings.HasPrefix(s, "-") {
					if _, err := strconv.ParseInt(s, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
						return errors.New("must not be negative")
					}
				}
				return intError(err, t)
			}
			v.SetUint(n)
			return nil
		}, nil
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(v reflect.Value, s string) error {
			f, err := strconv.ParseFloat(s, bits)
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return errors.New("out of range for " + t.String())
				}
				return errors.New("not a number")
			}
			v.SetFloat(f)
			return nil
		}, nil
	}
	return nil, fmt.Errorf("cannot bind a parameter of type %s (use a string, number, bool, time.Time, time.Duration, an encoding.TextUnmarshaler, a pointer or a slice of those)", t)
}

// intError is the error for a text that does not parse as an integer of
// type t: not an integer, or one out of t's range.
func intError(err error, t reflect.Type) error {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("out of range for %s", t)
	}
	return errors.New("not an integer")
}
