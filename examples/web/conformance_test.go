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
	app := NewApp([]byte(strings.Repeat("k", 32)), []string{"http://localhost:3000"}, flow.Logger(flowtest.Logger(t)))
	c := flowtest.New(t, app) // starts the services
	s := conformance.ForFlow(t, app)

	login := c.Post("/api/login", Login{User: "ada"})
	c.AssertConforms(login)
	cookie := login.Header.Get("Set-Cookie")
	if login.Status != 200 || cookie == "" {
		t.Fatalf("login gave %d, cookie %q", login.Status, cookie)
	}
	session := http.Header{"Cookie": {strings.Split(cookie, ";")[0]}}
	json := http.Header{"Content-Type": {"application/json"}}
	cases := []conformance.Case{
		{Name: "me with a session", Method: "GET", Target: "/api/me", Header: session, Status: 200},
		{Name: "me without a session", Method: "GET", Target: "/api/me", Status: 401},
		{Name: "login user with a space", Method: "POST", Target: "/api/login", Header: json, Body: []byte(`{"user":"a b"}`), Status: 422},
		{Name: "login user 33 characters", Method: "POST", Target: "/api/login", Header: json, Body: []byte(`{"user":"` + strings.Repeat("a", 33) + `"}`), Status: 422},
		{Name: "login user empty", Method: "POST", Target: "/api/login", Header: json, Body: []byte(`{"user":""}`), Status: 422},
	}
	s.Run(t, append(s.Generate(), cases...))
}
