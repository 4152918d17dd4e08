package main

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/internal/conformance"
)

// form is a multipart body of fields and files (name → content).
func form(fields map[string]string, files ...[2]string) (http.Header, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	for _, f := range files {
		fw, _ := w.CreateFormFile(f[0], f[0]+".txt")
		fw.Write([]byte(f[1]))
	}
	w.Close()
	return http.Header{"Content-Type": {w.FormDataContentType()}}, buf.Bytes()
}

// TestConformance drives every endpoint with the cases the document makes
// and the ones below, and checks each answer against the document.
func TestConformance(t *testing.T) {
	app := NewApp(flow.Logger(flowtest.Logger(t)))
	flowtest.New(t, app) // starts the services
	s := conformance.ForFlow(t, app)
	var cases []conformance.Case
	add := func(name string, status int, tooLarge bool, h http.Header, body []byte) {
		cases = append(cases, conformance.Case{Name: name, Method: "POST", Target: "/upload", Header: h, Body: body, Status: status, TooLarge: tooLarge})
	}
	h, b := form(map[string]string{"title": "notes"}, [2]string{"doc", "hello"}, [2]string{"extra", "a"}, [2]string{"extra", "b"})
	add("full", 201, false, h, b)
	h, b = form(map[string]string{"title": "notes"}, [2]string{"doc", ""})
	add("empty file", 201, false, h, b)
	h, b = form(map[string]string{"title": ""}, [2]string{"doc", "x"})
	add("empty title", 0, false, h, b)
	h, b = form(map[string]string{"title": strings.Repeat("t", 101)}, [2]string{"doc", "x"})
	add("title 101 characters", 422, false, h, b)
	h, b = form(map[string]string{"title": "notes", "doc": "not a file"})
	cases = append(cases, conformance.Case{Name: "doc as a plain field", Method: "POST", Target: "/upload", Header: h, Body: b, Status: 422,
		Unstated: "OpenAPI 3.0 cannot say that a binary part must be a file part"})
	add("urlencoded", 0, false, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("title=notes"))
	add("broken multipart", 400, false, http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}, []byte("--x\r\nbroken"))
	h, b = form(map[string]string{"title": "notes"}, [2]string{"doc", strings.Repeat("x", 33<<20)})
	add("file over the limit", 413, true, h, b)
	s.Run(t, append(s.Generate(), cases...))
}
