package main

import (
	"net/http"
	"testing"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/internal/conformance"
)

// TestConformance registers and starts a counter, then drives every
// endpoint of the document, the management API's included, with the cases
// the document makes and the ones below, and checks each answer against
// the document.
func TestConformance(t *testing.T) {
	app := NewApp(token, flow.DocumentOwnRoutes(), flow.Logger(flowtest.Logger(t)))
	c := flowtest.New(t, app) // starts the services
	c.Header.Set("Authorization", "Bearer "+token)
	const admin = "/admin/services/"
	want(t, c.Post(admin+"register", map[string]string{"service_name": "counter", "instance_name": "primary-counter"}), 200, "register")

	// Registered, not started: its routes are in the document and answer 503.
	s := conformance.ForFlow(t, app)
	s.Header = http.Header{"Authorization": {"Bearer " + token}}
	s.Run(t, []conformance.Case{
		{Name: "value before start", Method: "GET", Target: "/primary-counter/value", Status: 503},
	})

	want(t, c.Post(admin+"primary-counter/configure_and_start", map[string]int{"initial_value": 10, "step": 5}), 200, "configure_and_start")
	json := http.Header{"Content-Type": {"application/json"}}
	cases := []conformance.Case{
		{Name: "increment", Method: "POST", Target: "/primary-counter/increment", Status: 200},
		{Name: "value", Method: "GET", Target: "/primary-counter/value", Status: 200},
		{Name: "configure step 0", Method: "POST", Target: admin + "primary-counter/configure", Header: json, Body: []byte(`{"initial_value":1,"step":0}`), Status: 422,
			Unstated: "one configure operation serves every class: the counter's rules are its own"},
		{Name: "status", Method: "GET", Target: admin + "primary-counter", Status: 200},
		{Name: "register an unknown field", Method: "POST", Target: admin + "register", Header: json, Body: []byte(`{"service_name":"counter","colour":"red"}`), Status: 422},
		{Name: "register no class", Method: "POST", Target: admin + "register", Header: json, Body: []byte(`{"service_name":"nope"}`), Status: 404},
		{Name: "stop", Method: "POST", Target: admin + "primary-counter/stop", Status: 200},
		{Name: "value when stopped", Method: "GET", Target: "/primary-counter/value", Status: 503},
		{Name: "stop again", Method: "POST", Target: admin + "primary-counter/stop", Status: 409},
		{Name: "deregister", Method: "DELETE", Target: admin + "primary-counter", Status: 200},
		{Name: "no token", Method: "GET", Target: "/admin/services", Header: http.Header{"Authorization": {"Bearer wrong"}}, Status: 401},
	}
	s.Run(t, append(s.Generate(), cases...))
}
