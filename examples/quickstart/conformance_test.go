package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/internal/conformance"
)

// TestConformance drives every endpoint with the cases the document makes
// and the ones below, and checks each answer against the document.
func TestConformance(t *testing.T) {
	app := NewApp(flow.Logger(flowtest.Logger(t)))
	flowtest.New(t, app) // starts the services
	s := conformance.ForFlow(t, app)
	json := http.Header{"Content-Type": {"application/json"}}
	cases := []conformance.Case{
		{Name: "echo val 0", Method: "POST", Target: "/", Header: json, Body: []byte(`{"val":0}`), Status: 200},
		{Name: "echo negative", Method: "POST", Target: "/", Header: json, Body: []byte(`{"val":-3}`), Status: 200},
		{Name: "echo extra field", Method: "POST", Target: "/", Header: json, Body: []byte(`{"val":1,"x":2}`), Status: 200},
		{Name: "echo val float", Method: "POST", Target: "/", Header: json, Body: []byte(`{"val":1.5}`)},
		{Name: "echo no content type", Method: "POST", Target: "/", Body: []byte(`{"val":1}`)},
		{Name: "echo Accept text/plain", Method: "POST", Target: "/", Header: http.Header{"Content-Type": {"application/json"}, "Accept": {"text/plain"}}, Body: []byte(`{"val":1}`)},
		{Name: "echo body over the limit", Method: "POST", Target: "/", Header: json, Body: []byte(`{"val":1,"pad":"` + strings.Repeat("x", 9<<20) + `"}`), TooLarge: true},
		{Name: "my_int 0", Method: "GET", Target: "/my_endpoint?my_int=0", Status: 200},
		{Name: "my_int overflow", Method: "GET", Target: "/my_endpoint?my_int=99999999999999999999"},
		{Name: "my_int twice", Method: "GET", Target: "/my_endpoint?my_int=1&my_int=2"},
		{Name: "raw binary", Method: "POST", Target: "/raw", Header: http.Header{"Content-Type": {"application/octet-stream"}}, Body: []byte{0, 1, 2, 255}, Status: 200},
		{Name: "raw no body", Method: "POST", Target: "/raw", Status: 200},
		{Name: "users unicode", Method: "GET", Target: "/users/%C3%A9mile", Status: 200},
		{Name: "users space", Method: "GET", Target: "/users/a%20b", Status: 200},
		{Name: "users trailing slash", Method: "GET", Target: "/users/ada/"},
		{Name: "users encoded slash", Method: "GET", Target: "/users/a%2Fb"},
		{Name: "echo JSON with a charset", Method: "POST", Target: "/", Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, Body: []byte(`{"val":1}`), Status: 200},
		{Name: "my_int empty", Method: "GET", Target: "/my_endpoint?my_int="},
	}
	s.Run(t, append(s.Generate(), cases...))
}
