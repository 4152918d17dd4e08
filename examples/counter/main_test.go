package main

import (
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/manage"
)

const token = "test-token"

func client(t *testing.T) *flowtest.Client {
	c := flowtest.New(t, NewApp(token))
	c.Header.Set("Authorization", "Bearer "+token)
	return c
}

// want checks a response's status and, for a problem, logs its detail.
func want(t *testing.T, res *flowtest.Response, status int, what string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("%s: got %d, want %d: %s", what, res.Status, status, res.Text())
	}
}

func paths(t *testing.T, c *flowtest.Client) string {
	t.Helper()
	res := c.Get("/openapi.json")
	want(t, res, 200, "openapi.json")
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	res.Decode(&doc)
	var ps []string
	for p := range doc.Paths {
		ps = append(ps, p)
	}
	return strings.Join(ps, " ")
}

func value(t *testing.T, c *flowtest.Client, method, path string) int {
	t.Helper()
	res := c.Request(method, path, nil)
	want(t, res, 200, method+" "+path)
	var v Value
	res.Decode(&v)
	return v.Value
}

func TestCounterOverManagementAPI(t *testing.T) {
	c := client(t)
	const admin = "/admin/services/"

	var app manage.AppStatus
	res := c.Get("/admin/")
	want(t, res, 200, "GET /admin/")
	res.Decode(&app)
	if app.Version != "1.0.0" || len(app.Services) != 0 {
		t.Fatalf("GET /admin/ gave %+v", app)
	}
	if p := paths(t, c); strings.Contains(p, "primary-counter") {
		t.Fatalf("openapi.json lists %s before any counter", p)
	}

	// Register: the instance is mounted at once, stopped, in the docs.
	res = c.Post(admin+"register", map[string]string{"service_name": "counter", "instance_name": "primary-counter"})
	want(t, res, 200, "register")
	var reg manage.Registered
	res.Decode(&reg)
	if reg != (manage.Registered{Status: "registered", Service: "primary-counter", Type: "CounterService"}) {
		t.Fatalf("register gave %+v", reg)
	}
	if p := paths(t, c); !strings.Contains(p, "/primary-counter/value") || !strings.Contains(p, "/primary-counter/increment") {
		t.Fatalf("openapi.json after register lists %s", p)
	}
	want(t, c.Get("/primary-counter/value"), 503, "a counter not started yet")
	want(t, c.Post(admin+"primary-counter/start", nil), 409, "start before configure")

	// Configure: a bad step is 422 naming the field.
	res = c.Post(admin+"primary-counter/configure", map[string]int{"initial_value": 1, "step": 0})
	want(t, res, 422, "step 0")
	if p := res.Problem(); len(p.Errors) == 0 || !strings.Contains(p.Errors[0].Location, "step") {
		t.Fatalf("step 0 problem: %+v", p)
	}
	res = c.Post(admin+"primary-counter/configure", map[string]int{"initial_value": 10, "step": 5})
	want(t, res, 200, "configure")
	var out manage.Result
	res.Decode(&out)
	if out != (manage.Result{Status: "configured", Service: "primary-counter"}) {
		t.Fatalf("configure gave %+v", out)
	}

	// Start and use its own routes.
	want(t, c.Post(admin+"primary-counter/start", nil), 200, "start")
	if v := value(t, c, "POST", "/primary-counter/increment"); v != 15 {
		t.Fatalf("increment gave %d, want 15", v)
	}
	if v := value(t, c, "POST", "/primary-counter/increment"); v != 20 {
		t.Fatalf("increment gave %d, want 20", v)
	}
	if v := value(t, c, "GET", "/primary-counter/value"); v != 20 {
		t.Fatalf("value gave %d, want 20", v)
	}
	if v := value(t, c, "POST", "/primary-counter/reset"); v != 10 {
		t.Fatalf("reset gave %d, want 10", v)
	}
	value(t, c, "POST", "/primary-counter/increment") // 15: the old instance's value
	var st manage.ServiceStatus
	res = c.Get(admin + "primary-counter")
	want(t, res, 200, "status")
	res.Decode(&st)
	oldID := st.Metadata.ServiceID
	if st.State != "running" || !st.IsConfigured || st.Metadata.Class != "counter" || st.Metadata.Replicas.Running < 1 {
		t.Fatalf("status gave %+v", st)
	}

	// Stop: its routes answer 503 with Retry-After; a second stop is 409.
	want(t, c.Post(admin+"primary-counter/stop", nil), 200, "stop")
	res = c.Get("/primary-counter/value")
	want(t, res, 503, "a stopped counter")
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	want(t, c.Post(admin+"primary-counter/stop", nil), 409, "second stop")

	// Deregister: the routes and the docs go.
	res = c.Request("DELETE", admin+"primary-counter", nil)
	want(t, res, 200, "deregister")
	res.Decode(&out)
	if out != (manage.Result{Status: "deregistered", Service: "primary-counter"}) {
		t.Fatalf("deregister gave %+v", out)
	}
	want(t, c.Get("/primary-counter/value"), 404, "a removed counter")
	want(t, c.Get(admin+"primary-counter"), 404, "status of a removed counter")
	if p := paths(t, c); strings.Contains(p, "primary-counter") {
		t.Fatalf("openapi.json after deregister lists %s", p)
	}

	// Register again under the same name: the new instance answers.
	want(t, c.Post(admin+"register", map[string]string{"service_name": "counter", "instance_name": "primary-counter"}), 200, "register again")
	if p := paths(t, c); !strings.Contains(p, "/primary-counter/value") {
		t.Fatalf("openapi.json after the second register lists %s", p)
	}
	res = c.Post(admin+"primary-counter/configure_and_start", map[string]int{"initial_value": 100, "step": 1})
	want(t, res, 200, "configure_and_start")
	res.Decode(&out)
	if out.Status != "configured and started" {
		t.Fatalf("configure_and_start gave %+v", out)
	}
	if v := value(t, c, "POST", "/primary-counter/increment"); v != 101 {
		t.Fatalf("the new instance's increment gave %d, want 101 (the old one was at 15)", v)
	}
	res = c.Get(admin + "primary-counter")
	res.Decode(&st)
	if st.Metadata.ServiceID == oldID {
		t.Fatal("the status after re-registering shows the old instance")
	}
}

func TestCounterNeedsToken(t *testing.T) {
	c := flowtest.New(t, NewApp(token))
	res := c.Get("/admin/services")
	want(t, res, 401, "no token")
	if p := res.Problem(); p.Status != 401 {
		t.Fatalf("problem %+v", p)
	}
	c.Header.Set("Authorization", "Bearer wrong")
	want(t, c.Get("/admin/services"), 401, "wrong token")
	c.Header.Set("Authorization", "Bearer "+token)
	want(t, c.Get("/admin/services"), 200, "right token")
}
