package manage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/service"
)

// conf is the configuration of the "conf" test class.
type conf struct {
	N int `json:"n" binding:"min=1"`
}

// testClasses returns the classes the tests register, and the channel that
// releases the "slow" class's requests.
func testClasses(release <-chan struct{}) *manage.Classes {
	cs := manage.NewClasses()
	plain := func(name string, opts ...service.Option) *service.Service {
		svc := service.New(opts...)
		flow.Endpoint(svc, "GET", "/ping", func(context.Context, struct{}) (string, error) { return "pong " + name, nil })
		return svc
	}
	cs.Register("plain", plain, manage.TypeName("PlainService"))
	cs.Register("auto", plain, manage.Autostart())
	cs.Register("fixed", plain, manage.Route("/fixed"))
	cs.Register("nested", plain, manage.Route("/things/{instance_name}"))
	configured := func(name string, opts ...service.Option) *service.Service {
		var mu sync.Mutex
		n := 0
		svc := service.New(append([]service.Option{
			service.RequireConfig(),
			service.WithConfig(func(_ context.Context, c conf) error { mu.Lock(); n = c.N; mu.Unlock(); return nil }),
		}, opts...)...)
		flow.Endpoint(svc, "GET", "/n", func(context.Context, struct{}) (int, error) { mu.Lock(); defer mu.Unlock(); return n, nil })
		return svc
	}
	cs.Register("conf", configured)
	cs.Register("autoconf", configured, manage.Autostart())
	cs.Register("rude", func(name string, opts ...service.Option) *service.Service {
		return service.New(service.Name("someone-else"))
	})
	cs.Register("slow", func(name string, opts ...service.Option) *service.Service {
		svc := service.New(opts...)
		flow.Endpoint(svc, "GET", "/wait", func(ctx context.Context, _ struct{}) (string, error) {
			<-release
			return "done", nil
		})
		return svc
	})
	cs.Register("broken", func(name string, opts ...service.Option) *service.Service {
		svc := service.New(opts...)
		service.NewDependency(svc, service.GlobalScope, func(context.Context) (int, error) {
			return 0, errors.New("database unreachable")
		}, nil)
		return svc
	})
	return cs
}

type harness struct {
	t   *testing.T
	app *flow.Flow
	m   *manage.Manager
}

func newHarness(t *testing.T, o manage.Options) *harness {
	t.Helper()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	if o.Classes == nil {
		o.Classes = testClasses(release)
	}
	app := flow.New(flow.Metrics(""), flow.Logger(slog.New(slog.DiscardHandler)), flow.Management(o))
	h := &harness{t: t, app: app, m: app.Manager()}
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		app.Shutdown(ctx)
	})
	return h
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

func (a answer) problem(t *testing.T) responses.Problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("status %d with Content-Type %q, not problem details: %s", a.status, ct, a.body)
	}
	var p responses.Problem
	a.decode(t, &p)
	if p.Status != a.status {
		t.Fatalf("problem status %d on a %d answer", p.Status, a.status)
	}
	return p
}

// call sends a request from a loopback client, with header lines "K: V".
func (h *harness) call(method, path string, body any, headers ...string) answer {
	return h.callFrom("127.0.0.1:40000", method, path, body, headers...)
}

func (h *harness) callFrom(remote, method, path string, body any, headers ...string) answer {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		r = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, "http://127.0.0.1"+path, r)
	req.RemoteAddr = remote
	req.Header.Set("Content-Type", "application/json")
	for _, kv := range headers {
		k, v, _ := strings.Cut(kv, ": ")
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.app.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Result().Header, rec.Body.Bytes()}
}

func (h *harness) must(method, path string, body any, status int) answer {
	h.t.Helper()
	a := h.call(method, path, body)
	if a.status != status {
		h.t.Fatalf("%s %s: got %d, want %d: %s", method, path, a.status, status, a.body)
	}
	if status >= 400 {
		a.problem(h.t)
	}
	return a
}

func (h *harness) register(class, instance string) answer {
	h.t.Helper()
	return h.must("POST", "/admin/services/register", map[string]string{"service_name": class, "instance_name": instance}, 200)
}

func (h *harness) state(name string) manage.ServiceStatus {
	h.t.Helper()
	var st manage.ServiceStatus
	h.must("GET", "/admin/services/"+name, nil, 200).decode(h.t, &st)
	return st
}

func TestRegisterAnswers(t *testing.T) {
	h := newHarness(t, manage.Options{})
	var reg manage.Registered
	h.register("plain", "a").decode(t, &reg)
	if reg != (manage.Registered{Status: "registered", Service: "a", Type: "PlainService"}) {
		t.Fatalf("register gave %+v", reg)
	}
	// No instance name: the class name, then the first free _n.
	for _, want := range []string{"conf", "conf_1", "conf_2"} {
		h.must("POST", "/admin/services/register", map[string]string{"service_name": "conf"}, 200).decode(t, &reg)
		if reg.Service != want {
			t.Fatalf("unnamed instance got %q, want %q", reg.Service, want)
		}
	}
	h.register("nested", "n1")
	h.register("nested", "n2")
	if got := h.call("GET", "/things/n2/ping", nil); got.status != 503 {
		t.Fatalf("a registered, unstarted instance answered %d", got.status)
	}
	st := h.state("a")
	if st.State != service.Initialized || st.Error != nil || st.IsConfigured || st.Metadata.Class != "plain" ||
		st.Metadata.Type != "PlainService" || st.Metadata.BaseRoute != "/a" || st.Metadata.Options.Name != "a" || !st.Metadata.Replicas.Stopped {
		t.Fatalf("status of a new instance: %+v", st)
	}
}

func TestErrors(t *testing.T) {
	h := newHarness(t, manage.Options{Timeout: 2 * time.Second})
	h.register("plain", "p")
	h.register("fixed", "f1")
	h.must("POST", "/admin/services/p/start", nil, 200)
	big := `{"n": 1, "pad": "` + strings.Repeat("x", manage.MaxBody) + `"}`
	reg := "/admin/services/register"
	cases := []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"unknown class", "POST", reg, map[string]string{"service_name": "nope"}, 404},
		{"duplicate name", "POST", reg, map[string]string{"service_name": "plain", "instance_name": "p"}, 409},
		{"duplicate base route", "POST", reg, map[string]string{"service_name": "fixed", "instance_name": "f2"}, 409},
		{"route of the flow's own", "POST", reg, map[string]string{"service_name": "plain", "instance_name": "healthz"}, 409},
		{"malformed name", "POST", reg, map[string]string{"service_name": "plain", "instance_name": "no spaces"}, 422},
		{"reserved name", "POST", reg, map[string]string{"service_name": "plain", "instance_name": "register"}, 422},
		{"no class", "POST", reg, map[string]string{"instance_name": "x"}, 422},
		{"malformed JSON", "POST", reg, `{"service_name":`, 400},
		{"unknown field", "POST", reg, `{"service_name": "plain", "colour": "red"}`, 422},
		{"rude constructor", "POST", reg, map[string]string{"service_name": "rude"}, 500},
		{"unknown service status", "GET", "/admin/services/ghost", nil, 404},
		{"unknown service delete", "DELETE", "/admin/services/ghost", nil, 404},
		{"unknown service start", "POST", "/admin/services/ghost/start", nil, 404},
		{"unknown service stop", "POST", "/admin/services/ghost/stop", nil, 404},
		{"unknown service configure", "POST", "/admin/services/ghost/configure", map[string]int{"n": 1}, 404},
		{"unknown service configure_and_start", "POST", "/admin/services/ghost/configure_and_start", map[string]int{"n": 1}, 404},
		{"start a running service", "POST", "/admin/services/p/start", nil, 409},
		{"stop a service never started", "POST", "/admin/services/f1/stop", nil, 409},
		{"configure_and_start a running service", "POST", "/admin/services/p/configure_and_start", nil, 409},
		{"configure a service without configuration", "POST", "/admin/services/p/configure", map[string]int{"n": 1}, 422},
		{"body too large", "POST", "/admin/services/p/configure", big, 413},
		{"not JSON", "POST", "/admin/services/p/configure", nil, 415},
		{"unknown action", "POST", "/admin/services/p/restart", nil, 404},
		{"unknown management path", "GET", "/admin/nothing", nil, 404},
		{"wrong method", "PUT", "/admin/services/p", nil, 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var a answer
			if tc.name == "not JSON" {
				a = h.call(tc.method, tc.path, "n=1", "Content-Type: text/plain")
			} else {
				a = h.call(tc.method, tc.path, tc.body)
			}
			if a.status != tc.status {
				t.Fatalf("got %d, want %d: %s", a.status, tc.status, a.body)
			}
			if p := a.problem(t); p.Detail == "" {
				t.Fatalf("problem without detail: %+v", p)
			}
		})
	}
	// HEAD answers on the GET routes, as the GET would, without a body.
	for _, path := range []string{"/admin", "/admin/services", "/admin/services/p"} {
		h.must("HEAD", path, nil, 200)
	}
	if a := h.call("HEAD", "/admin/services/ghost", nil); a.status != 404 {
		t.Errorf("HEAD of an unknown service: %d, want 404", a.status)
	}
	// None of the refused calls changed anything.
	var list manage.ServiceList
	h.must("GET", "/admin/services", nil, 200).decode(t, &list)
	if len(list.Services) != 2 || list.Services[0].Name != "p" || list.Services[0].State != service.Running {
		t.Fatalf("services after the errors: %+v", list)
	}
}

func TestLifecycleWalk(t *testing.T) {
	h := newHarness(t, manage.Options{})
	h.register("conf", "c")
	h.must("GET", "/c/n", nil, 503)
	a := h.must("POST", "/admin/services/c/start", nil, 409)
	if p := a.problem(t); !strings.Contains(p.Detail, "configured") {
		t.Fatalf("start before configure: %q", p.Detail)
	}
	a = h.must("POST", "/admin/services/c/configure", map[string]int{"n": 0}, 422)
	if p := a.problem(t); len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Location, "n") {
		t.Fatalf("bad configuration: %+v", p)
	}
	if st := h.state("c"); st.State != service.Initialized || st.IsConfigured {
		t.Fatalf("after a bad configure: %+v", st)
	}

	var res manage.Result
	h.must("POST", "/admin/services/c/configure", map[string]int{"n": 3}, 200).decode(t, &res)
	if res != (manage.Result{Status: "configured", Service: "c"}) {
		t.Fatalf("configure gave %+v", res)
	}
	st := h.state("c")
	if st.State != service.Configured || !st.IsConfigured || st.Metadata.Config.(map[string]any)["n"] != 3.0 {
		t.Fatalf("after configure: %+v", st)
	}

	h.must("POST", "/admin/services/c/start", nil, 200).decode(t, &res)
	if res != (manage.Result{Status: "started", Service: "c"}) {
		t.Fatalf("start gave %+v", res)
	}
	if a := h.must("GET", "/c/n", nil, 200); string(a.body) != "3" {
		t.Fatalf("GET /c/n gave %s", a.body)
	}
	// A running service takes a new configuration live.
	h.must("POST", "/admin/services/c/configure", map[string]int{"n": 4}, 200)
	if a := h.must("GET", "/c/n", nil, 200); string(a.body) != "4" || h.state("c").State != service.Running {
		t.Fatalf("live configure: GET /c/n gave %s", a.body)
	}

	h.must("POST", "/admin/services/c/stop", nil, 200).decode(t, &res)
	if res != (manage.Result{Status: "stopped", Service: "c"}) {
		t.Fatalf("stop gave %+v", res)
	}
	a = h.must("GET", "/c/n", nil, 503)
	if a.header.Get("Retry-After") == "" {
		t.Fatal("a stopped service's 503 has no Retry-After")
	}
	h.must("POST", "/admin/services/c/stop", nil, 409)

	h.must("POST", "/admin/services/c/configure_and_start", map[string]int{"n": 5}, 200).decode(t, &res)
	if res != (manage.Result{Status: "configured and started", Service: "c"}) {
		t.Fatalf("configure_and_start gave %+v", res)
	}
	if a := h.must("GET", "/c/n", nil, 200); string(a.body) != "5" {
		t.Fatalf("after configure_and_start GET /c/n gave %s", a.body)
	}

	var app manage.AppStatus
	h.must("GET", "/admin", nil, 200).decode(t, &app)
	if app.State != "running" || app.Version == "" || app.Services["c"].State != service.Running || app.Services["c"].Metadata.Replicas.Running < 1 {
		t.Fatalf("GET /admin gave %+v", app)
	}

	h.must("DELETE", "/admin/services/c", nil, 200).decode(t, &res)
	if res != (manage.Result{Status: "deregistered", Service: "c"}) {
		t.Fatalf("delete gave %+v", res)
	}
	h.must("GET", "/c/n", nil, 404)
	h.must("DELETE", "/admin/services/c", nil, 404)
}

func TestAutostart(t *testing.T) {
	h := newHarness(t, manage.Options{})
	h.register("auto", "a")
	if st := h.state("a"); st.State != service.Running {
		t.Fatalf("an autostart instance is %s", st.State)
	}
	h.must("GET", "/a/ping", nil, 200)
	// One that needs configuration waits for it, then starts.
	h.register("autoconf", "b")
	if st := h.state("b"); st.State != service.Initialized {
		t.Fatalf("an unconfigured autostart instance is %s", st.State)
	}
	h.must("POST", "/admin/services/b/configure", map[string]int{"n": 2}, 200)
	if st := h.state("b"); st.State != service.Running {
		t.Fatalf("a configured autostart instance is %s", st.State)
	}
}

func TestFailedStopIsReported(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, manage.Options{Classes: testClasses(release), Timeout: 100 * time.Millisecond})
	h.register("slow", "s")
	h.must("POST", "/admin/services/s/start", nil, 200)
	inFlight := make(chan answer)
	go func() { inFlight <- h.call("GET", "/s/wait", nil) }()
	testutil.WaitFor(t, "the request in a replica slot", 5*time.Second, func() bool { return h.state("s").Metadata.Replicas.InFlight > 0 })
	a := h.must("POST", "/admin/services/s/stop", nil, 500)
	if p := a.problem(t); !strings.Contains(p.Detail, "failed to stop") {
		t.Fatalf("failed stop: %q", p.Detail)
	}
	st := h.state("s")
	if st.State != service.Failed || st.Error == nil {
		t.Fatalf("after a failed stop: %+v", st)
	}
	close(release)
	if a := <-inFlight; a.status != 200 {
		t.Fatalf("the request in flight got %d", a.status)
	}
	// The error state is left by a start.
	h.must("POST", "/admin/services/s/start", nil, 200)
	if st := h.state("s"); st.State != service.Running || st.Error != nil {
		t.Fatalf("after a start from error: %+v", st)
	}
}

func TestFailedStartIsReported(t *testing.T) {
	h := newHarness(t, manage.Options{})
	h.register("broken", "b")
	a := h.must("POST", "/admin/services/b/start", nil, 500)
	if p := a.problem(t); !strings.Contains(p.Detail, "database unreachable") {
		t.Fatalf("failed start: %q", p.Detail)
	}
	if st := h.state("b"); st.State != service.Failed || st.Error == nil || !strings.Contains(*st.Error, "database unreachable") {
		t.Fatalf("after a failed start: %+v", st)
	}
	var list manage.ServiceList
	h.must("GET", "/admin/services", nil, 200).decode(t, &list)
	if list.Services[0].Error == nil || list.Services[0].State != service.Failed {
		t.Fatalf("list after a failed start: %+v", list)
	}
}

// TestConcurrentLifecycle fires start, stop and configure at one service
// from many goroutines: every answer is a success or a 409, and the service
// ends in a state that matches how it serves.
func TestConcurrentLifecycle(t *testing.T) {
	h := newHarness(t, manage.Options{})
	h.register("conf", "c")
	h.must("POST", "/admin/services/c/configure", map[string]int{"n": 1}, 200)
	actions := []string{"start", "stop", "configure", "configure_and_start"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	for g := range 16 {
		wg.Go(func() {
			for i := range 25 {
				act := actions[(g+i)%len(actions)]
				var body any
				if strings.HasPrefix(act, "configure") {
					body = map[string]int{"n": g + 1}
				}
				a := h.call("POST", "/admin/services/c/"+act, body)
				mu.Lock()
				counts[a.status]++
				mu.Unlock()
				if a.status != 200 && a.status != 409 {
					t.Errorf("%s: %d %s", act, a.status, a.body)
				}
				h.call("GET", "/c/n", nil) // traffic while it changes
			}
		})
	}
	wg.Wait()
	t.Logf("answers: %v", counts)
	st := h.state("c")
	serve := h.call("GET", "/c/n", nil).status
	switch st.State {
	case service.Running:
		if serve != 200 || !st.IsConfigured {
			t.Fatalf("running but GET answered %d (%+v)", serve, st)
		}
	case service.Stopped, service.Configured:
		if serve != 503 {
			t.Fatalf("%s but GET answered %d", st.State, serve)
		}
	default:
		t.Fatalf("ended in state %s (%+v)", st.State, st)
	}
	// And it still obeys its transitions.
	if st.State != service.Running {
		h.must("POST", "/admin/services/c/start", nil, 200)
	}
	h.must("POST", "/admin/services/c/start", nil, 409)
	h.must("POST", "/admin/services/c/stop", nil, 200)
	h.must("POST", "/admin/services/c/stop", nil, 409)
}

// TestReRegister registers, calls, deregisters and registers again under
// one name, concurrently with traffic: a call never reaches a removed
// instance once the new one is there.
func TestReRegister(t *testing.T) {
	h := newHarness(t, manage.Options{})
	for round := 1; round <= 5; round++ {
		h.register("conf", "c")
		h.must("POST", "/admin/services/c/configure_and_start", map[string]int{"n": round}, 200)
		if a := h.must("GET", "/c/n", nil, 200); string(a.body) != fmt.Sprint(round) {
			t.Fatalf("round %d: GET /c/n gave %s", round, a.body)
		}
		h.must("DELETE", "/admin/services/c", nil, 200)
		h.must("GET", "/c/n", nil, 404)
	}
}

func TestConcurrentRegister(t *testing.T) {
	h := newHarness(t, manage.Options{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 12 {
		wg.Go(func() {
			a := h.call("POST", "/admin/services/register", map[string]string{"service_name": "plain", "instance_name": "same"})
			switch a.status {
			case 200:
				mu.Lock()
				ok++
				mu.Unlock()
			case 409:
			default:
				t.Errorf("register: %d %s", a.status, a.body)
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d registrations of one name succeeded", ok)
	}
	for range 3 {
		wg.Go(func() {
			for range 10 {
				a := h.call("DELETE", "/admin/services/same", nil)
				if a.status != 200 && a.status != 404 {
					t.Errorf("delete: %d", a.status)
				}
				a = h.call("POST", "/admin/services/register", map[string]string{"service_name": "auto", "instance_name": "same"})
				if a.status != 200 && a.status != 409 {
					t.Errorf("register: %d %s", a.status, a.body)
				}
			}
		})
	}
	wg.Wait()
	if n := len(h.app.Services()); n > 1 {
		t.Fatalf("%d services after concurrent re-registration", n)
	}
}

func TestProtection(t *testing.T) {
	t.Setenv(manage.TokenEnv, "")
	cases := []struct {
		name          string
		token, env    string
		remote, auth  string
		status        int
		authenticated bool
	}{
		{"no token, loopback v4", "", "", "127.0.0.1:5000", "", 200, false},
		{"no token, loopback v6", "", "", "[::1]:5000", "", 200, false},
		{"no token, remote", "", "", "192.0.2.7:5000", "", 403, false},
		{"no token, remote with a token", "", "", "192.0.2.7:5000", "Bearer x", 403, false},
		{"token, none sent", "s3cret", "", "127.0.0.1:5000", "", 401, false},
		{"token, wrong", "s3cret", "", "127.0.0.1:5000", "Bearer nope", 401, false},
		{"token, wrong scheme", "s3cret", "", "127.0.0.1:5000", "Basic s3cret", 401, false},
		{"token, right, remote", "s3cret", "", "192.0.2.7:5000", "Bearer s3cret", 200, true},
		{"token from the environment, none sent", "", "envtok", "127.0.0.1:5000", "", 401, false},
		{"token from the environment, right", "", "envtok", "192.0.2.7:5000", "bearer envtok", 200, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(manage.TokenEnv, tc.env)
			h := newHarness(t, manage.Options{Token: tc.token})
			if want := tc.token + tc.env; h.m.Token() != want {
				t.Fatalf("Token() = %q, want %q", h.m.Token(), want)
			}
			for _, c := range []struct{ method, path string }{
				{"GET", "/admin/"}, {"GET", "/admin/services"}, {"POST", "/admin/services/register"},
			} {
				var headers []string
				if tc.auth != "" {
					headers = append(headers, "Authorization: "+tc.auth)
				}
				var body any
				if c.method == "POST" {
					body = map[string]string{"service_name": "plain", "instance_name": "x"}
				}
				a := h.callFrom(tc.remote, c.method, c.path, body, headers...)
				if a.status != tc.status {
					t.Fatalf("%s %s: got %d, want %d: %s", c.method, c.path, a.status, tc.status, a.body)
				}
				if a.status >= 400 {
					a.problem(t)
				}
			}
			if tc.status != 200 && len(h.app.Services()) != 0 {
				t.Fatal("a refused register added a service")
			}
		})
	}
}

func TestPrefix(t *testing.T) {
	h := newHarness(t, manage.Options{Prefix: "ops/"})
	if h.m.Prefix() != "/ops" {
		t.Fatalf("prefix %q", h.m.Prefix())
	}
	h.must("GET", "/ops/services", nil, 200)
	h.must("GET", "/admin/services", nil, 404)

	app := flow.New(flow.Management(manage.Options{Disabled: true}))
	if app.Manager() != nil {
		t.Fatal("a disabled API has a Manager")
	}
	req := httptest.NewRequest("GET", "http://127.0.0.1/admin/services", nil)
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Fatalf("a disabled API answered %d", rec.Code)
	}
	app.Shutdown(context.Background())
}

func TestProgrammingErrorsPanic(t *testing.T) {
	fn := func(name string, opts ...service.Option) *service.Service { return service.New(opts...) }
	cases := []struct {
		name string
		f    func()
	}{
		{"duplicate class", func() { cs := manage.NewClasses(); cs.Register("a", fn); cs.Register("a", fn) }},
		{"bad class name", func() { manage.NewClasses().Register("a b", fn) }},
		{"nil constructor", func() { manage.NewClasses().Register("a", nil) }},
		{"nil host", func() { manage.New(nil, manage.Options{}) }},
		{"slash prefix", func() { flow.New(flow.Management(manage.Options{Prefix: "/"})) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { testutil.MustPanic(t, "", tc.f) })
	}
}

// TestRemote lists the instances a plug-in's discovery reports beside the
// local services, and says why when the listing fails.
func TestRemote(t *testing.T) {
	one := []manage.RemoteInstance{{Node: "w1", ID: "x", Service: "calc", Replicas: 2, Capacity: 8}}
	cases := []struct {
		name      string
		list      func(context.Context) ([]manage.RemoteInstance, error)
		wantKey   bool // "remote" is in the answer
		want      []manage.RemoteInstance
		wantError string
	}{
		{"no discovery", nil, false, nil, ""},
		{"none found", func(context.Context) ([]manage.RemoteInstance, error) { return []manage.RemoteInstance{}, nil }, true, []manage.RemoteInstance{}, ""},
		{"one found", func(context.Context) ([]manage.RemoteInstance, error) { return one, nil }, true, one, ""},
		{"listing fails", func(context.Context) ([]manage.RemoteInstance, error) { return nil, errors.New("not connected") }, false, nil, "not connected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, manage.Options{})
			h.must("POST", "/admin/services/register", map[string]string{"service_name": "plain", "instance_name": "local"}, 200)
			h.m.SetRemote(tc.list)
			for _, path := range []string{"/admin/", "/admin/services"} {
				a := h.must("GET", path, nil, 200)
				var raw map[string]json.RawMessage
				a.decode(t, &raw)
				if _, ok := raw["remote"]; ok != tc.wantKey {
					t.Fatalf("GET %s: remote present %v, want %v: %s", path, ok, tc.wantKey, a.body)
				}
				var got struct {
					Remote      []manage.RemoteInstance `json:"remote"`
					RemoteError string                  `json:"remote_error"`
				}
				a.decode(t, &got)
				if fmt.Sprint(got.Remote) != fmt.Sprint(tc.want) || got.RemoteError != tc.wantError {
					t.Fatalf("GET %s: remote %+v %q, want %+v %q", path, got.Remote, got.RemoteError, tc.want, tc.wantError)
				}
				if !bytes.Contains(a.body, []byte(`"local"`)) {
					t.Fatalf("GET %s hides the local service: %s", path, a.body)
				}
			}
		})
	}
}

func TestOpenAPIFollows(t *testing.T) {
	h := newHarness(t, manage.Options{})
	has := func() bool {
		a := h.must("GET", "/openapi.json", nil, 200)
		return bytes.Contains(a.body, []byte(`"/dyn/ping"`))
	}
	if has() {
		t.Fatal("the document lists a service not registered yet")
	}
	h.register("plain", "dyn")
	if !has() {
		t.Fatal("the document does not list a registered service")
	}
	h.must("DELETE", "/admin/services/dyn", nil, 200)
	if has() {
		t.Fatal("the document lists a removed service")
	}
}

// TestStatusDuringStop reads the status of a service while its stop waits
// for a request in flight: the answer comes at once and says "stopping".
func TestStatusDuringStop(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, manage.Options{Classes: testClasses(release), Timeout: 3 * time.Second})
	h.register("slow", "s")
	h.must("POST", "/admin/services/s/start", nil, 200)
	inFlight := make(chan answer, 1)
	go func() { inFlight <- h.call("GET", "/s/wait", nil) }()
	testutil.WaitFor(t, "the request in a replica slot", 5*time.Second, func() bool { return h.state("s").Metadata.Replicas.InFlight > 0 })
	stopped := make(chan answer, 1)
	go func() { stopped <- h.call("POST", "/admin/services/s/stop", nil) }()
	t.Cleanup(func() {
		if t.Failed() {
			close(release) // let the stuck stop end
		}
	})
	testutil.WaitFor(t, "the status to say stopping (a stop must not block the status)", 2*time.Second, func() bool {
		return h.state("s").State == service.Stopping
	})
	var app manage.AppStatus
	h.must("GET", "/admin/", nil, 200).decode(t, &app)
	if app.Services["s"].State != service.Stopping {
		t.Fatalf("GET /admin/ during the stop: %+v", app.Services["s"])
	}
	close(release)
	if a := <-inFlight; a.status != 200 {
		t.Fatalf("the request in flight got %d", a.status)
	}
	if a := <-stopped; a.status != 200 {
		t.Fatalf("the stop got %d: %s", a.status, a.body)
	}
}
