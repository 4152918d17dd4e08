// Package flowtest helps test a replicaflow app without a port: a request
// goes in, a decoded response comes out.
//
//	c := flowtest.New(t, app)
//	res := c.Post("/", map[string]int{"val": 1})
//	res.Status // 200
//	var out MyType
//	res.Decode(&out)
package flowtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/responses"
)

// Client sends requests to an app in-process.
type Client struct {
	t   testing.TB
	app *flow.Flow
	// Header is sent with every request.
	Header http.Header
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
	return &Client{t: t, app: app, Header: http.Header{}}
}

// Response is an answer of the app.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	t      testing.TB
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

// Do sends req to the app and returns the answer.
func (c *Client) Do(req *http.Request) *Response {
	c.t.Helper()
	for k, vs := range c.Header {
		if _, ok := req.Header[k]; !ok {
			req.Header[k] = vs
		}
	}
	rec := httptest.NewRecorder()
	c.app.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return &Response{Status: res.StatusCode, Header: res.Header, Body: body, t: c.t}
}

// Request sends a request with a body: nil for none, an io.Reader or []byte
// or string as is, anything else as JSON (with Content-Type
// application/json).
func (c *Client) Request(method, path string, body any) *Response {
	c.t.Helper()
	var r io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
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
	return c.Do(req)
}

// Get sends a GET request.
func (c *Client) Get(path string) *Response {
	c.t.Helper()
	return c.Request(http.MethodGet, path, nil)
}

// Post sends a POST request with body (see Request).
func (c *Client) Post(path string, body any) *Response {
	c.t.Helper()
	return c.Request(http.MethodPost, path, body)
}

// Call sends a request with a JSON body to app and decodes a 2xx answer
// into Resp; the test fails on any other status.
func Call[Resp any](c *Client, method, path string, body any) Resp {
	c.t.Helper()
	res := c.Request(method, path, body)
	if res.Status < 200 || res.Status > 299 {
		c.t.Fatalf("flowtest: %s %s: status %d: %s", method, path, res.Status, res.Body)
	}
	var out Resp
	res.Decode(&out)
	return out
}
