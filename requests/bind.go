package requests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// DefaultBodyLimit is the largest request body an endpoint reads unless it
// sets its own limit: 8 MiB.
const DefaultBodyLimit = 8 << 20

// multipartMemory is how much of a multipart form is kept in memory; the rest
// of its files go to temporary files.
const multipartMemory = 8 << 20

// Bind binds the request of c into dst, a pointer to a zero value of the
// plan's type, and validates it. limit caps the body's size (0 means
// DefaultBodyLimit, negative means no limit). The error, if any, is an
// *Error.
//
// A field marked `binding:"required"` must be sent: a zero value (0, false,
// "") is a value when it is sent. A field that is not sent is not checked
// against its other rules: it keeps its zero value, or its `default`.
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
	var seen presence
	if p.HasBody {
		buf, err := p.decodeBody(req, dst)
		if buf != nil {
			defer putBuffer(buf)
			seen.body = buf.Bytes()
		}
		if err != nil {
			return err
		}
		if p.Whole {
			if p.validates() {
				fields, err := p.check(dst, nil, &seen)
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
			sent, err := p.bindParam(c, f, fv)
			if err != nil {
				fields = append(fields, FieldError{Location: f.Source.String() + "." + f.Key, Message: clip(err.Error(), maxEchoedMessage)})
			}
			if !sent && f.HasDefault {
				_ = f.setDefault(fv) // it parsed when the plan was made
				sent = true
			}
			if sent {
				seen.set(i)
			}
		}
	}
	if p.validates() {
		var err error
		if fields, err = p.check(dst, fields, &seen); err != nil {
			return err
		}
	}
	if len(fields) > 0 {
		return invalid(fields)
	}
	return nil
}

// bindParam binds one parameter, form field or file into fv and reports
// whether the request sent it.
func (p *Plan) bindParam(c *gin.Context, f *Field, fv reflect.Value) (bool, error) {
	req := c.Request
	if f.Source == File {
		if req.MultipartForm == nil {
			return false, nil
		}
		fhs := req.MultipartForm.File[f.Key]
		if len(fhs) == 0 {
			return false, nil
		}
		if f.Type == uploadType {
			fv.Set(reflect.ValueOf(newUploadFile(fhs[0])))
			return true, nil
		}
		files := make([]*UploadFile, len(fhs))
		for i, fh := range fhs {
			files[i] = newUploadFile(fh)
		}
		fv.Set(reflect.ValueOf(files))
		return true, nil
	}
	if f.decode.many != nil {
		vals := values(c, f)
		if len(vals) == 0 {
			return false, nil
		}
		return true, f.decode.many(fv, vals)
	}
	s, ok := value(c, f)
	if !ok {
		return false, nil
	}
	return true, f.decode.one(fv, s)
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

// decodeBody reads the JSON body into a pooled buffer (returned, to be put
// back once the body's bytes are no longer needed) and decodes it into dst.
func (p *Plan) decodeBody(req *http.Request, dst any) (*bytes.Buffer, error) {
	if ct := contentType(req.Header); ct != "" && !isJSON(ct) {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Detail: fmt.Sprintf("the body must be JSON (application/json), not %q", ct)}
	}
	if req.Body == nil || req.Body == http.NoBody {
		return nil, p.emptyBody()
	}
	buf := getBuffer()
	if _, err := buf.ReadFrom(req.Body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return buf, tooLarge(mbe.Limit)
		}
		return buf, malformed("the body could not be read", err)
	}
	data := buf.Bytes()
	if blank(data) {
		return buf, p.emptyBody()
	}
	return buf, decodeJSON(data, dst, p.RefuseUnknown)
}

// blank reports whether data is only JSON whitespace: an empty body.
func blank(data []byte) bool {
	for _, c := range data {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// decodeJSON decodes the one JSON value of data into dst; refuse makes an
// unknown object field an error.
func decodeJSON(data []byte, dst any, refuse bool) error {
	var err error
	if refuse {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err = dec.Decode(dst); err == nil {
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				return malformed("the body has data after its JSON value", err)
			}
			return nil
		}
		if name, ok := unknownField(err); ok {
			return invalid([]FieldError{{Location: "body." + clip(name, maxEchoedValue), Message: "is not a field of this request", Rule: "unknown"}})
		}
	} else if err = json.Unmarshal(data, dst); err == nil {
		return nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) && strings.HasSuffix(syn.Error(), "after top-level value") {
		return malformed("the body has data after its JSON value", err)
	}
	return jsonError(err)
}

// unknownField returns the name in encoding/json's error for an unknown
// field.
func unknownField(err error) (string, bool) {
	const prefix = "json: unknown field "
	s := err.Error()
	if !strings.HasPrefix(s, prefix) {
		return "", false
	}
	name, uerr := strconv.Unquote(s[len(prefix):])
	if uerr != nil {
		name = s[len(prefix):]
	}
	return name, true
}

// maxPooledBuffer is the largest body buffer kept for reuse.
const maxPooledBuffer = 64 << 10

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer {
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	return buf
}

func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		buffers.Put(buf)
	}
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
		tpe *time.ParseError
	)
	switch {
	case errors.As(err, &tpe):
		// encoding/json does not say which field's UnmarshalJSON failed.
		return invalid([]FieldError{{Location: "body", Message: "has a time that is not an RFC 3339 time (like 2006-01-02T15:04:05Z): " + clip(strconv.Quote(tpe.Value), maxEchoedValue)}})
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

// contentType is the request's Content-Type, read from the map directly:
// net/http stores the canonical key, and Header.Get would canonicalize the
// constant on every request.
func contentType(h http.Header) string {
	if v := h["Content-Type"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func isJSON(ct string) bool {
	if ct == "application/json" { // what nearly every client sends
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/json") || strings.HasSuffix(strings.ToLower(mt), "+json")
}
