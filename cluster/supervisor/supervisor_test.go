package supervisor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/cluster/supervisor"
	"github.com/replicaflow/replicaflow/registry"
)

// workerServer is a worker whose health endpoint can be switched off.
func workerServer(t *testing.T, healthy *atomic.Bool) (*httptest.Server, string, int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			if !healthy.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(`{"status":"ok"}`))
		case "/openapi.json":
			w.Write([]byte(`{"openapi":"3.0.3","paths":{"/hello":{"get":{"operationId":"hello","responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Reply"}}}}}}}},"components":{"schemas":{"Reply":{"type":"object"}}}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	var port int
	fmt.Sscan(u.Port(), &port)
	return srv, u.Hostname(), port
}

func newSupervisor(t *testing.T) (*supervisor.Supervisor, *httptest.Server) {
	t.Helper()
	s := supervisor.New(supervisor.Options{MinInterval: 10 * time.Millisecond, Failures: 3, Successes: 2,
		Grace: 300 * time.Millisecond, Timeout: time.Second})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	return s, srv
}

func register(t *testing.T, method, base, name, host string, port int, interval string) *http.Response {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"tags":["t1","t2"],"host":%q,"port":"%d","healthcheck":{"url":"http://%s:%d/health","interval":%s}}`,
		name, host, port, host, port, interval)
	req, _ := http.NewRequest(method, base+"/register", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func statusOf(t *testing.T, base string) []supervisor.InstanceStatus {
	t.Helper()
	resp, err := http.Get(base + "/services/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rows []supervisor.InstanceStatus
	json.NewDecoder(resp.Body).Decode(&rows)
	return rows
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRegisterByPutAndPost(t *testing.T) {
	_, srv := newSupervisor(t)
	var ok atomic.Bool
	ok.Store(true)
	_, host, port := workerServer(t, &ok)
	if r := register(t, "PUT", srv.URL, "alpha", host, port, `"0.05"`); r.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d", r.StatusCode)
	}
	if r := register(t, "PUT", srv.URL, "alpha", host, port, `"0.05"`); r.StatusCode != http.StatusOK {
		t.Fatalf("PUT again: %d", r.StatusCode)
	}
	_, host2, port2 := workerServer(t, &ok)
	if r := register(t, "POST", srv.URL, "beta", host2, port2, `0.05`); r.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d", r.StatusCode)
	}
	waitFor(t, "both healthy", func() bool {
		rows := statusOf(t, srv.URL)
		return len(rows) == 2 && rows[0].Status == registry.StatusHealthy && rows[1].Status == registry.StatusHealthy
	})
	rows := statusOf(t, srv.URL)
	if rows[0].Name != "alpha" || len(rows[0].Tags) != 2 || rows[0].HealthURL == "" {
		t.Fatalf("rows %+v", rows)
	}
	// The combined OpenAPI document has both workers, renamed apart.
	resp, err := http.Get(srv.URL + "/services/definition")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components map[string]map[string]any            `json:"components"`
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc.Paths["/alpha/hello"]["get"]["operationId"] != "alpha_hello" || doc.Paths["/beta/hello"] == nil ||
		doc.Components["schemas"]["alpha_Reply"] == nil || doc.Components["schemas"]["beta_Reply"] == nil {
		t.Fatalf("definition %+v", doc)
	}
	b, _ := json.Marshal(doc.Paths["/beta/hello"])
	if !strings.Contains(string(b), "#/components/schemas/beta_Reply") {
		t.Fatalf("ref not rewritten: %s", b)
	}
	// Deregistration.
	req, _ := http.NewRequest("DELETE", fmt.Sprintf("%s/register/alpha/%s:%d", srv.URL, host, port), nil)
	r, _ := http.DefaultClient.Do(req)
	if r.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", r.StatusCode)
	}
	r, _ = http.DefaultClient.Do(req)
	if r.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE again: %d", r.StatusCode)
	}
	// Bad payloads.
	for _, body := range []string{`{`, `{"name":"x","host":"127.0.0.1","port":"abc"}`} {
		r, _ := http.Post(srv.URL+"/register", "application/json", strings.NewReader(body))
		if r.StatusCode != http.StatusBadRequest || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: %d", body, r.StatusCode)
		}
	}
	r, _ = http.Post(srv.URL+"/register", "application/json", strings.NewReader(`{"name":"x","host":"127.0.0.1","port":0}`))
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid: %d", r.StatusCode)
	}
}

func TestHealthStateMachine(t *testing.T) {
	s, srv := newSupervisor(t)
	var ok atomic.Bool
	ok.Store(true)
	_, host, port := workerServer(t, &ok)
	register(t, "PUT", srv.URL, "w", host, port, `0.03`)
	get := func() registry.Status {
		rows := statusOf(t, srv.URL)
		if len(rows) == 0 {
			return "gone"
		}
		return rows[0].Status
	}
	waitFor(t, "healthy", func() bool { return get() == registry.StatusHealthy })

	// Failing checks: unhealthy only after 3 consecutive failures.
	ok.Store(false)
	waitFor(t, "one failure", func() bool {
		rows := statusOf(t, srv.URL)
		return len(rows) == 1 && rows[0].ConsecutiveFailures >= 1
	})
	waitFor(t, "unhealthy", func() bool { return get() == registry.StatusUnhealthy })
	if rows := statusOf(t, srv.URL); rows[0].ConsecutiveFailures < 3 {
		t.Fatalf("unhealthy after %d failures", rows[0].ConsecutiveFailures)
	}
	// Recovery after successes.
	ok.Store(true)
	waitFor(t, "healthy again", func() bool { return get() == registry.StatusHealthy })
	inst, err := s.Registry().Get(context.Background(), "w", fmt.Sprintf("%s:%d", host, port))
	if err != nil || inst.Status != registry.StatusHealthy {
		t.Fatalf("registry copy %+v %v", inst, err)
	}
	// Removal after the grace period.
	ok.Store(false)
	waitFor(t, "removed", func() bool { return get() == "gone" })
	if _, err := s.Registry().Get(context.Background(), "w", fmt.Sprintf("%s:%d", host, port)); err == nil {
		t.Fatal("still in the registry")
	}
}

func TestRegistrationGuard(t *testing.T) {
	tests := []struct {
		token, remote, auth string
		want                int
	}{
		{"", "198.51.100.7:1234", "", http.StatusForbidden},
		{"tok", "198.51.100.7:1234", "Bearer wrong", http.StatusUnauthorized},
		{"tok", "127.0.0.1:1234", "", http.StatusUnauthorized},
		{"tok", "198.51.100.7:1234", "Bearer tok", http.StatusCreated},
		{"", "127.0.0.1:1234", "", http.StatusCreated},
	}
	for _, tt := range tests {
		s := supervisor.New(supervisor.Options{Token: tt.token, DefaultInterval: time.Hour})
		for _, method := range []string{"PUT", "POST"} {
			r := httptest.NewRequest(method, "/register", strings.NewReader(`{"name":"w","host":"127.0.0.1","port":9}`))
			r.RemoteAddr = tt.remote
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			want := tt.want
			if method == "POST" && want == http.StatusCreated {
				want = http.StatusOK // already registered by the PUT
			}
			if w.Code != want {
				t.Errorf("%+v %s: got %d", tt, method, w.Code)
			}
		}
		r := httptest.NewRequest("DELETE", "/register/w/127.0.0.1:9", nil)
		r.RemoteAddr = tt.remote
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if wantDel := map[int]int{201: 204}[tt.want]; (wantDel == 0 && w.Code != tt.want) || (wantDel != 0 && w.Code != wantDel) {
			t.Errorf("%+v DELETE: got %d", tt, w.Code)
		}
		s.Close()
	}
}
