// Package flowtest helps test a replicaflow app without a port: a request
// goes in, a decoded response comes out.
//
//	app := flow.New(flow.Logger(flowtest.Logger(t)))
//	...
//	c := flowtest.New(t, app)
//	res := c.Post("/", map[string]int{"val": 1}, flowtest.Header("X-Trace", "1"))
//	res.Status // 200
//	var out MyType
//	res.Decode(&out)
//	c.AssertConforms(res) // the answer is what the app's OpenAPI document says
//
// A client keeps cookies between requests, like a browser, and sends JSON,
// forms (url.Values) and multipart bodies with files (Multipart).
package flowtest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/responses"
)

// Client sends requests to an app in-process.
type Client struct {
	t   testing.TB
	app *flow.Flow
	// Header is sent with every request.
	Header http.Header
	// Jar keeps the cookies the app sets and sends them back, like a
	// browser; set it to nil to send none.
	Jar http.CookieJar

	docOnce sync.Once
	router  routers.Router
	docErr  error
}

// New returns a client for app. The app's services are started now and
// stopped when the test ends.
func New(t testing.TB, app *flow.Flow) *Client {
	t.Helper()
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatalf("flowtest: start services: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("flowtest: shutdown: %v", err)
		}
	})
	jar, _ := cookiejar.New(nil) // never fails without options
	return &Client{t: t, app: app, Header: http.Header{}, Jar: jar}
}

// Logger returns a logger that writes to t.Log, so that an app's logs show
// with the test that made them: flow.New(flow.Logger(flowtest.Logger(t))).
// Logs that arrive once the test is over are dropped.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// Response is an answer of the app.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Request is the request that was answered; its body is in
	// RequestBody.
	Request     *http.Request
	RequestBody []byte
	t           testing.TB
}

// Decode decodes the JSON body into v; the test fails if it cannot.
func (r *Response) Decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("flowtest: decode %s body %q: %v", r.Header.Get("Content-Type"), r.Body, err)
	}
}

// Problem decodes the body as problem details; the test fails if the answer
// is not application/problem+json.
func (r *Response) Problem() responses.Problem {
	r.t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, responses.ProblemContentType) {
		r.t.Fatalf("flowtest: want problem details, got %d %s: %q", r.Status, ct, r.Body)
	}
	var p responses.Problem
	r.Decode(&p)
	return p
}

// Text returns the body as a string.
func (r *Response) Text() string { return string(r.Body) }

// RequestOption changes a request before it is sent.
type RequestOption func(*http.Request)

// Header sets a header on one request.
func Header(key, value string) RequestOption {
	return func(r *http.Request) { r.Header.Set(key, value) }
}

// Cookie adds a cookie to one request.
func Cookie(c *http.Cookie) RequestOption {
	return func(r *http.Request) { r.AddCookie(c) }
}

// Do sends req to the app and returns the answer. The client's Header
// fills in what req does not set, and its Jar adds and keeps cookies.
func (c *Client) Do(req *http.Request) *Response {
	c.t.Helper()
	for k, vs := range c.Header {
		if _, ok := req.Header[k]; !ok {
			req.Header[k] = vs
		}
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			c.t.Fatalf("flowtest: read request body: %v", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	jarURL := &url.URL{Scheme: "http", Host: req.Host, Path: req.URL.Path}
	if req.URL.Host != "" {
		jarURL.Scheme, jarURL.Host = cmp.Or(req.URL.Scheme, "http"), req.URL.Host
	}
	if c.Jar != nil {
		for _, ck := range c.Jar.Cookies(jarURL) {
			if _, err := req.Cookie(ck.Name); err != nil { // the request's own wins
				req.AddCookie(ck)
			}
		}
	}
	rec := httptest.NewRecorder()
	c.app.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	if c.Jar != nil {
		if cookies := res.Cookies(); len(cookies) > 0 {
			c.Jar.SetCookies(jarURL, cookies)
		}
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: body, Request: req, RequestBody: reqBody, t: c.t}
}

// Request sends a request with a body: nil for none; url.Values as an
// application/x-www-form-urlencoded form; Multipart as a multipart/form-data
// form with files; an io.Reader or []byte or string
// as is; anything else as JSON (with Content-Type application/json). opts
// change the request before it goes (Header, Cookie).
func (c *Client) Request(method, path string, body any, opts ...RequestOption) *Response {
	c.t.Helper()
	var r io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		r, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case Multipart:
		var buf bytes.Buffer
		ct = b.write(c.t, &buf)
		r = &buf
	case io.Reader:
		r = b
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("flowtest: encode body: %v", err)
		}
		r, ct = bytes.NewReader(data), "application/json"
	}
	req := httptest.NewRequest(method, path, r)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for _, opt := range opts {
		opt(req)
	}
	return c.Do(req)
}

// Multipart is a multipart/form-data body for Request and Post: form
// fields and files.
type Multipart struct {
	Fields url.Values
	Files  []File
}

// File is one file of a Multipart body, sent in the form field Field.
type File struct {
	Field, Name string
	// ContentType is the part's type; default application/octet-stream.
	ContentType string
	Data        []byte
}

// write encodes m into w and returns its Content-Type.
func (m Multipart) write(t testing.TB, w io.Writer) string {
	t.Helper()
	mw := multipart.NewWriter(w)
	for _, k := range slices.Sorted(maps.Keys(m.Fields)) {
		for _, v := range m.Fields[k] {
			if err := mw.WriteField(k, v); err != nil {
				t.Fatalf("flowtest: multipart field %s: %v", k, err)
			}
		}
	}
	for _, f := range m.Files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": f.Field, "filename": f.Name}))
		h.Set("Content-Type", cmp.Or(f.ContentType, "application/octet-stream"))
		part, err := mw.CreatePart(h)
		if err == nil {
			_, err = part.Write(f.Data)
		}
		if err != nil {
			t.Fatalf("flowtest: multipart file %s: %v", f.Field, err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatalf("flowtest: multipart: %v", err)
	}
	return mw.FormDataContentType()
}

// Get sends a GET request.
func (c *Client) Get(path string, opts ...RequestOption) *Response {
	c.t.Helper()
	return c.Request(http.MethodGet, path, nil, opts...)
}

// Head sends a HEAD request.
func (c *Client) Head(path string, opts ...RequestOption) *Response {
	c.t.Helper()
	return c.Request(http.MethodHead, path, nil, opts...)
}

// Post sends a POST request with body (see Request).
func (c *Client) Post(path string, body any, opts ...RequestOption) *Response {
	c.t.Helper()
	return c.Request(http.MethodPost, path, body, opts...)
}

// Put sends a PUT request with body (see Request).
func (c *Client) Put(path string, body any, opts ...RequestOption) *Response {
	c.t.Helper()
	return c.Request(http.MethodPut, path, body, opts...)
}

// Patch sends a PATCH request with body (see Request).
func (c *Client) Patch(path string, body any, opts ...RequestOption) *Response {
	c.t.Helper()
	return c.Request(http.MethodPatch, path, body, opts...)
}

// Delete sends a DELETE request.
func (c *Client) Delete(path string, opts ...RequestOption) *Response {
	c.t.Helper()
	return c.Request(http.MethodDelete, path, nil, opts...)
}

// Call sends a request with a JSON body to app and decodes a 2xx answer
// into Resp; an answer without a body (204) leaves Resp its zero value.
// The test fails on any other status.
func Call[Resp any](c *Client, method, path string, body any, opts ...RequestOption) Resp {
	c.t.Helper()
	res := c.Request(method, path, body, opts...)
	if res.Status < 200 || res.Status > 299 {
		c.t.Fatalf("flowtest: %s %s: status %d: %s", method, path, res.Status, res.Body)
	}
	var out Resp
	if len(res.Body) > 0 {
		res.Decode(&out)
	}
	return out
}

// AssertConforms checks res against the app's own OpenAPI document, with
// kin-openapi's openapi3filter: the request must be one the document
// accepts when the answer is a success, and the answer's status must be
// documented, with its headers, media type and, for JSON, its body
// matching the schema. A HEAD is checked as the GET of its route, without
// the body. Each mismatch is a test error. The document is read
// from the app (Flow.Spec) once per client; its servers are ignored, since
// the client talks to the app's root. Security requirements are not
// checked.
func (c *Client) AssertConforms(res *Response) {
	c.t.Helper()
	c.docOnce.Do(c.loadDocument)
	if c.docErr != nil {
		c.t.Fatalf("flowtest: the app's OpenAPI document: %v", c.docErr)
	}
	req := res.Request.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(res.RequestBody))
	route, params, err := c.router.FindRoute(req)
	head := false
	if err != nil && req.Method == http.MethodHead {
		// A HEAD is answered as the GET of the same route, without the body.
		req.Method, head = http.MethodGet, true
		route, params, err = c.router.FindRoute(req)
	}
	if err != nil {
		c.t.Errorf("flowtest: %s %s: not in the document: %v", res.Request.Method, req.URL.Path, err)
		return
	}
	if route.Operation.Responses.Status(res.Status) == nil && route.Operation.Responses.Default() == nil {
		// openapi3filter lets 3xx pass undocumented: check every status.
		c.t.Errorf("flowtest: %s %s: status %d is not documented", res.Request.Method, req.URL.Path, res.Status)
		return
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		MultiError:            true,
		ExcludeResponseBody:   head,
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if res.Status < 400 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			c.t.Errorf("flowtest: %s %s answered %d, but the document refuses the request: %v", req.Method, req.URL.Path, res.Status, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.Status,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(res.Body)),
		Options:                opts,
	}
	if doc := route.Operation.Responses.Status(res.Status); !head && doc != nil && len(doc.Value.Content) > 0 {
		ct := res.Header.Get("Content-Type")
		if doc.Value.Content.Get(ct) == nil {
			c.t.Errorf("flowtest: %s %s: %d answered with Content-Type %q, which the document does not give", req.Method, req.URL.Path, res.Status, ct)
			return
		}
		// Only JSON bodies have a schema worth checking; others are text or
		// bytes, and openapi3filter has no decoder for most of them.
		if !strings.Contains(ct, "json") {
			opts := *opts
			opts.ExcludeResponseBody = true
			out.Options = &opts
		}
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.t.Errorf("flowtest: %s %s: the answer does not match the document: %v", req.Method, req.URL.Path, err)
	}
}

// loadDocument reads the app's document and makes a router of it.
func (c *Client) loadDocument() {
	spec := c.app.Spec()
	if spec == nil {
		c.docErr = errors.New("the app serves no document (flow.Docs turned it off)")
		return
	}
	data, err := spec.JSON()
	if err != nil {
		c.docErr = err
		return
	}
	doc, err := openapi3.NewLoader().LoadFromData(data) // a copy of our own
	if err == nil {
		err = doc.Validate(context.Background())
	}
	if err != nil {
		c.docErr = err
		return
	}
	doc.Servers = nil // requests go to the app's root
	c.router, c.docErr = legacy.NewRouter(doc)
}
