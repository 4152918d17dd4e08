package requests

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
)

// DefaultBodyLimit is the largest request body an endpoint reads unless it
// sets its own limit: 8 MiB.
const DefaultBodyLimit = 8 << 20

// multipartMemory is how much of a multipart form is kept in memory; the rest
// of its files go to temporary files.
const multipartMemory = 8 << 20

// Bind binds the request of c into dst, a pointer to a value of the plan's
// type, and validates it. limit caps the body's size (0 means
// DefaultBodyLimit, negative means no limit). The error, if any, is an
// *Error.
func (p *Plan) Bind(c *gin.Context, dst any, limit int64) error {
	req := c.Request
	if limit == 0 {
		limit = DefaultBodyLimit
	}
	if (p.HasBody || p.HasForm || p.Raw) && limit > 0 && req.Body != nil {
		if req.ContentLength > limit {
			return tooLarge(limit)
		}
		if req.ContentLength < 0 {
			// A body of unknown length (chunked) is cut at the limit; one
			// with a Content-Length within it cannot grow past it.
			req.Body = http.MaxBytesReader(c.Writer, req.Body, limit)
		}
	}
	if p.Raw {
		// The handler reads the body itself: a Content-Length over the
		// limit is refused above, and a chunked body is cut at it (its
		// reader then fails with an *http.MaxBytesError, answered 413).
		*(dst.(*Request)) = Request{Request: req}
		return nil
	}
	if p.HasBody {
		if err := p.decodeBody(req, dst); err != nil {
			return err
		}
		if p.Whole {
			if p.validates() {
				fields, err := p.check(dst, nil)
				if err != nil {
					return err
				}
				if len(fields) > 0 {
					return invalid(fields)
				}
			}
			return nil
		}
	}
	if p.HasForm {
		if err := parseForm(req, limit); err != nil {
			return err
		}
	}
	var fields []FieldError
	if len(p.params) > 0 {
		v := reflect.ValueOf(dst).Elem()
		for _, i := range p.params {
			f := &p.Fields[i]
			fv := v.FieldByIndex(f.Index)
			if p.HasBody {
				fv.SetZero() // a body must not set a parameter
			}
			if err := p.bindParam(c, f, fv); err != nil {
				fields = append(fields, FieldError{Location: f.Source.String() + "." + f.Key, Message: clip(err.Error(), maxEchoedMessage)})
			}
		}
	}
	if p.validates() {
		var err error
		if fields, err = p.check(dst, fields); err != nil {
			return err
		}
	}
	if len(fields) > 0 {
		return invalid(fields)
	}
	return nil
}

func (p *Plan) bindParam(c *gin.Context, f *Field, fv reflect.Value) error {
	req := c.Request
	if f.Source == File {
		if req.MultipartForm == nil {
			return nil
		}
		fhs := req.MultipartForm.File[f.Key]
		if len(fhs) == 0 {
			return nil
		}
		if f.Type == uploadType {
			fv.Set(reflect.ValueOf(newUploadFile(fhs[0])))
			return nil
		}
		files := make([]*UploadFile, len(fhs))
		for i, fh := range fhs {
			files[i] = newUploadFile(fh)
		}
		fv.Set(reflect.ValueOf(files))
		return nil
	}
	if f.decode.many != nil {
		vals := values(c, f)
		if len(vals) == 0 {
			return nil
		}
		return f.decode.many(fv, vals)
	}
	s, ok := value(c, f)
	if !ok {
		return nil
	}
	return f.decode.one(fv, s)
}

// value returns the first value of a scalar parameter without allocating
// (but to unescape a query value, or to parse cookies).
func value(c *gin.Context, f *Field) (string, bool) {
	req := c.Request
	switch f.Source {
	case Path:
		return c.Params.Get(f.Key)
	case Query:
		if req.URL == nil {
			return "", false
		}
		if q := req.URL.RawQuery; queryScan(q) {
			return queryValue(q, f.Key)
		}
		return c.GetQuery(f.Key)
	case Header:
		if vs := req.Header[f.Key]; len(vs) > 0 {
			return vs[0], true
		}
	case Cookie:
		if ck, err := req.Cookie(f.Key); err == nil {
			return ck.Value, true
		}
	case Form:
		if vs := req.PostForm[f.Key]; len(vs) > 0 {
			return vs[0], true
		}
	}
	return "", false
}

// values returns every value of a slice parameter.
func values(c *gin.Context, f *Field) []string {
	req := c.Request
	switch f.Source {
	case Path:
		if s, ok := c.Params.Get(f.Key); ok {
			return []string{s}
		}
	case Query:
		if req.URL == nil {
			return nil
		}
		if q := req.URL.RawQuery; queryScan(q) {
			return queryValues(q, f.Key)
		}
		return c.QueryArray(f.Key)
	case Header:
		return req.Header[f.Key]
	case Cookie:
		if ck, err := req.Cookie(f.Key); err == nil {
			return []string{ck.Value}
		}
	case Form:
		return req.PostForm[f.Key]
	}
	return nil
}

func (p *Plan) decodeBody(req *http.Request, dst any) error {
	if ct := req.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		return &Error{Status: http.StatusUnsupportedMediaType, Detail: fmt.Sprintf("the body must be JSON (application/json), not %q", ct)}
	}
	if req.Body == nil || req.Body == http.NoBody {
		return p.emptyBody()
	}
	dec := json.NewDecoder(req.Body)
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			return p.emptyBody()
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return malformed("the body has data after its JSON value", err)
	}
	return nil
}

func (p *Plan) emptyBody() error {
	if p.Whole {
		return invalid([]FieldError{{Location: "body", Message: "is required", Rule: "required"}})
	}
	return nil
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.As(err, &syn):
		return malformed(fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error()), err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("malformed JSON: the body ends in the middle of a value", err)
	case errors.As(err, &typ):
		loc := "body"
		if typ.Field != "" {
			loc += "." + typ.Field
		}
		return invalid([]FieldError{{Location: loc, Message: fmt.Sprintf("must be %s, not a JSON %s", kindName(typ.Type), clip(typ.Value, maxEchoedValue))}})
	}
	return malformed("invalid JSON body: "+clip(err.Error(), maxEchoedMessage), err)
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer that fits " + t.String()
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

func parseForm(req *http.Request, limit int64) error {
	ct := req.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil && ct != "" {
		return &Error{Status: http.StatusUnsupportedMediaType, Detail: fmt.Sprintf("the Content-Type %q cannot be parsed", ct)}
	}
	switch mt {
	case "multipart/form-data":
		err = req.ParseMultipartForm(multipartMemory)
	case "application/x-www-form-urlencoded", "":
		err = req.ParseForm()
	default:
		return &Error{Status: http.StatusUnsupportedMediaType, Detail: fmt.Sprintf("the body must be a form (multipart/form-data or application/x-www-form-urlencoded), not %q", ct)}
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return malformed("malformed form: "+err.Error(), err)
	}
	return nil
}

func tooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body is larger than the limit of %d bytes", limit)}
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/json") || strings.HasSuffix(strings.ToLower(mt), "+json")
}
