// Package conformance checks that an app answers as its own OpenAPI document
// says, with kin-openapi's openapi3filter as the judge. For each case it asks
// the document whether it accepts the request, sends the request to the app
// in process, and checks the answer:
//
//   - a request the document accepts is not refused as malformed (400, 415,
//     422); 413 is fine for a case marked TooLarge, since a document cannot
//     state a body limit;
//   - every answer, errors included, has a documented status, media type,
//     headers and body schema (kin-openapi skips 3xx statuses: the status and
//     its Location header are checked here);
//   - a request that reaches no operation (an unknown path or method) is
//     answered 404 or 405 with problem details.
//
// Cases come from the caller and from the document itself (Generate): for
// each operation a request filled in as Swagger UI fills it, and bad variants
// of it.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/responses"
)

func init() {
	// Text answers are checked against their string schema. Registered
	// once, before any test runs: the decoder table is global.
	for _, mt := range []string{"text/html", "text/event-stream"} {
		if openapi3filter.RegisteredBodyDecoder(mt) == nil {
			openapi3filter.RegisterBodyDecoder(mt, openapi3filter.PlainBodyDecoder)
		}
	}
}

// Case is one request to send.
type Case struct {
	// Name says what the case is, e.g. "POST / val missing".
	Name string
	// Method and Target (a path with its query) make the request line.
	Method, Target string
	// Header is sent as is.
	Header http.Header
	// Body is sent as is.
	Body []byte
	// TooLarge marks a body over the endpoint's limit: 413 is then the
	// expected answer, whatever the document says of the request.
	TooLarge bool
	// Status, when set, is the status the answer must have.
	Status int
	// Unstated, when set, says why the app may refuse this request although
	// the document accepts it: a rule OpenAPI 3.0 cannot state (a multipart
	// part must be a file, not a field). The answer is still checked.
	Unstated string
}

// Result is what Check found for a case.
type Result struct {
	// Operation is the operation the request reached ("" for none).
	Operation string
	// Accepted reports that the document accepts the request.
	Accepted bool
	// Refusal is why the document refuses the request.
	Refusal error
	// Status and Header are the answer's.
	Status int
	Header http.Header
	// Body is the answer's body.
	Body []byte
	// Problems lists every way the answer breaks the rules; none means it
	// conforms.
	Problems []string
}

// Suite checks cases against one app and its document.
type Suite struct {
	// Header is sent with every case that does not set it (credentials,
	// say).
	Header http.Header

	h      http.Handler
	doc    *openapi3.T
	router routers.Router
}

// New returns a suite for the app served by h, whose document is spec (the
// JSON the app serves). The document's servers are ignored: requests go to
// h's root.
func New(h http.Handler, spec []byte) (*Suite, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the document is not valid: %w", err)
	}
	doc.Servers = nil
	UntypedPermitsNull(doc)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &Suite{h: h, doc: doc, router: router}, nil
}

// ForFlow returns a suite for app, with the document it serves now. The
// caller starts the app's services (flowtest.New does).
func ForFlow(t testing.TB, app *flow.Flow) *Suite {
	t.Helper()
	spec := app.Spec()
	if spec == nil {
		t.Fatal("conformance: the app serves no document")
	}
	data, err := spec.JSON()
	if err != nil {
		t.Fatalf("conformance: the app's document: %v", err)
	}
	s, err := New(app.Handler(), data)
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	return s
}

// Document returns the document the suite judges by.
func (s *Suite) Document() *openapi3.T { return s.doc }

// Run checks every case in a subtest of its name and reports each problem
// as a test error. It logs how many cases the document accepted.
func (s *Suite) Run(t *testing.T, cases []Case) {
	t.Helper()
	accepted := 0
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			r := s.Check(c)
			if r.Accepted {
				accepted++
			}
			for _, p := range r.Problems {
				t.Errorf("%s %s: %s", c.Method, c.Target, p)
			}
			if t.Failed() {
				t.Logf("answer %d %s: %.300s", r.Status, r.Header.Get("Content-Type"), r.Body)
			}
		})
	}
	t.Logf("%d cases, %d accepted by the document", len(cases), accepted)
}

// request builds the case's request, with the suite's headers.
func (s *Suite) request(c Case) *http.Request {
	var body io.Reader
	if c.Body != nil {
		body = bytes.NewReader(c.Body)
	}
	req := httptest.NewRequest(c.Method, c.Target, body)
	for k, vs := range c.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	for k, vs := range s.Header {
		if _, ok := req.Header[k]; !ok {
			req.Header[k] = append([]string(nil), vs...)
		}
	}
	return req
}

var refusals = map[int]bool{http.StatusBadRequest: true, http.StatusUnsupportedMediaType: true, http.StatusUnprocessableEntity: true}

// Check sends one case and judges its answer.
func (s *Suite) Check(c Case) Result {
	var r Result
	fail := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }

	probe := s.request(c)
	route, params, findErr := s.router.FindRoute(probe)
	head := false
	if findErr != nil && c.Method == http.MethodHead {
		// A HEAD is answered as the GET of its route, without the body.
		probe.Method = http.MethodGet
		if route, params, findErr = s.router.FindRoute(probe); findErr == nil {
			head = true
		}
	}
	if findErr == nil && strings.HasSuffix(probe.URL.Path, "/") != strings.HasSuffix(route.Path, "/") {
		// The router forgives a trailing slash; the document's paths do not.
		findErr = routers.ErrPathNotFound
	}
	for _, v := range params {
		if findErr == nil && v == "" {
			// The router matches /items to /items/{id} with an empty id;
			// a path parameter is never empty in the document's paths.
			findErr = routers.ErrPathNotFound
		}
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		ExcludeResponseBody:   head,
	}
	var in *openapi3filter.RequestValidationInput
	if findErr == nil {
		r.Operation = route.Method + " " + route.Path
		in = &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: opts}
		if !c.TooLarge { // the document cannot state a size; 413 is checked below
			r.Refusal = openapi3filter.ValidateRequest(context.Background(), in)
			if r.Refusal == nil {
				r.Refusal = wellFormed(c)
			}
			r.Accepted = r.Refusal == nil
		}
	}

	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, s.request(c))
	res := rec.Result()
	r.Status, r.Header = res.StatusCode, res.Header
	r.Body, _ = io.ReadAll(res.Body)

	if c.Status != 0 && r.Status != c.Status {
		fail("status %d, want %d", r.Status, c.Status)
	}
	if c.TooLarge && r.Status != http.StatusRequestEntityTooLarge {
		fail("status %d for a body over the limit, want 413", r.Status)
	}
	if findErr != nil {
		s.checkNoOperation(&r, findErr, fail)
		return r
	}
	switch {
	case r.Accepted && refusals[r.Status] && c.Unstated == "":
		fail("the document accepts the request, but the app refused it with %d", r.Status)
	case r.Accepted && r.Status == http.StatusRequestEntityTooLarge && !c.TooLarge:
		fail("the document accepts the request, but the app answered 413 to a body within the limit")
	}

	doc := route.Operation.Responses.Status(r.Status)
	if doc == nil {
		doc = route.Operation.Responses.Default()
	}
	if doc == nil || doc.Value == nil {
		fail("status %d is not documented for %s", r.Status, r.Operation)
		return r
	}
	if r.Status >= 300 && r.Status < 400 {
		// kin-openapi does not check redirects: their Location is.
		if _, ok := doc.Value.Headers["Location"]; ok && r.Header.Get("Location") == "" {
			fail("redirect %d without the documented Location header", r.Status)
		}
		return r
	}
	if len(doc.Value.Content) == 0 {
		if len(r.Body) > 0 && !head {
			fail("status %d is documented without a body, but the answer has %d bytes", r.Status, len(r.Body))
		}
		return r
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 r.Status,
		Header:                 r.Header,
		Body:                   io.NopCloser(bytes.NewReader(r.Body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		fail("the answer does not match the document: %v", err)
	}
	return r
}

// checkNoOperation checks the answer to a request that reaches no operation:
// 404 or 405 (kin-openapi's routers do not tell the two apart reliably),
// with problem details.
func (s *Suite) checkNoOperation(r *Result, findErr error, fail func(string, ...any)) {
	var re *routers.RouteError
	if !errors.As(findErr, &re) {
		fail("the router failed: %v", findErr)
		return
	}
	if r.Status != http.StatusNotFound && r.Status != http.StatusMethodNotAllowed {
		fail("no operation (%v), yet the app answered %d, want 404 or 405", findErr, r.Status)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != responses.ProblemContentType {
		fail("no operation: the answer's Content-Type is %q, want %s", r.Header.Get("Content-Type"), responses.ProblemContentType)
		return
	}
	problem := s.doc.Components.Schemas["Problem"]
	if problem == nil {
		return // the document declares no problem schema to check against
	}
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		fail("no operation: the problem is not JSON: %v", err)
		return
	}
	if err := problem.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		fail("no operation: the problem does not match the Problem schema: %v", err)
	}
}

// wellFormed refuses a JSON body that is not one JSON value, which
// kin-openapi lets pass (it decodes the first value and ignores the rest).
func wellFormed(c Case) error {
	ct := http.Header(c.Header).Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if len(c.Body) == 0 || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil
	}
	if !json.Valid(c.Body) {
		return errors.New("the body is not one JSON value")
	}
	return nil
}
