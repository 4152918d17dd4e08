package supervisor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/cluster"
	"github.com/replicaflow/replicaflow/cluster/supervisor"
	"github.com/replicaflow/replicaflow/internal/testutil"
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

// register registers a worker and returns the answer's status and receipt.
func register(t *testing.T, method, base, name, host string, port int, interval string) (int, supervisor.Receipt) {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"tags":["t1","t2"],"host":%q,"port":"%d","healthcheck":{"url":"http://%s:%d/health","interval":%s}}`,
		name, host, port, host, port, interval)
	req, _ := http.NewRequest(method, base+"/register", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rec supervisor.Receipt
	json.NewDecoder(resp.Body).Decode(&rec)
	return resp.StatusCode, rec
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

func TestRegisterByPutAndPost(t *testing.T) {
	_, srv := newSupervisor(t)
	var ok atomic.Bool
	ok.Store(true)
	_, host, port := workerServer(t, &ok)
	code, alpha := register(t, "PUT", srv.URL, "alpha", host, port, `"0.05"`)
	if code != http.StatusCreated || alpha.Secret == "" {
		t.Fatalf("PUT: %d %+v", code, alpha)
	}
	if code, _ := register(t, "PUT", srv.URL, "alpha", host, port, `"0.05"`); code != http.StatusOK {
		t.Fatalf("PUT again: %d", code)
	}
	_, host2, port2 := workerServer(t, &ok)
	if code, _ := register(t, "POST", srv.URL, "beta", host2, port2, `0.05`); code != http.StatusCreated {
		t.Fatalf("POST: %d", code)
	}
	testutil.WaitFor(t, "both healthy", 10*time.Second, func() bool {
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
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(cluster.SecretHeader, alpha.Secret)
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
	testutil.WaitFor(t, "healthy", 10*time.Second, func() bool { return get() == registry.StatusHealthy })

	// Failing checks: unhealthy only after 3 consecutive failures.
	ok.Store(false)
	testutil.WaitFor(t, "one failure", 10*time.Second, func() bool {
		rows := statusOf(t, srv.URL)
		return len(rows) == 1 && rows[0].ConsecutiveFailures >= 1
	})
	testutil.WaitFor(t, "unhealthy", 10*time.Second, func() bool { return get() == registry.StatusUnhealthy })
	if rows := statusOf(t, srv.URL); rows[0].ConsecutiveFailures < 3 {
		t.Fatalf("unhealthy after %d failures", rows[0].ConsecutiveFailures)
	}
	// Recovery after successes.
	ok.Store(true)
	testutil.WaitFor(t, "healthy again", 10*time.Second, func() bool { return get() == registry.StatusHealthy })
	// The registry's copy follows with the checker's next write.
	testutil.WaitFor(t, "the registry's copy healthy again", 10*time.Second, func() bool {
		inst, err := s.Registry().Get(context.Background(), "w", fmt.Sprintf("%s:%d", host, port))
		return err == nil && inst.Status == registry.StatusHealthy
	})
	// Removal after the grace period.
	ok.Store(false)
	testutil.WaitFor(t, "removed", 10*time.Second, func() bool { return get() == "gone" })
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
		call := func(method, path, body, secret string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(method, "http://127.0.0.1:8100"+path, strings.NewReader(body))
			r.RemoteAddr = tt.remote
			r.Header.Set("Content-Type", "application/json")
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if secret != "" {
				r.Header.Set(cluster.SecretHeader, secret)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			return w
		}
		var secret string
		for _, method := range []string{"PUT", "POST"} {
			w := call(method, "/register", `{"name":"w","host":"127.0.0.1","port":9}`, "")
			want := tt.want
			if method == "POST" && want == http.StatusCreated {
				want = http.StatusOK // already registered by the PUT
			}
			if w.Code != want {
				t.Errorf("%+v %s: got %d", tt, method, w.Code)
			}
			var rec supervisor.Receipt
			if json.Unmarshal(w.Body.Bytes(), &rec) == nil && rec.Secret != "" {
				secret = rec.Secret
			}
		}
		w := call("DELETE", "/register/w/127.0.0.1:9", "", secret)
		if wantDel := map[int]int{201: 204}[tt.want]; (wantDel == 0 && w.Code != tt.want) || (wantDel != 0 && w.Code != wantDel) {
			t.Errorf("%+v DELETE: got %d", tt, w.Code)
		}
		s.Close()
	}
}

// TestInstanceOwnership replays the red team's hijack: a holder of the
// cluster token registers another worker's instance ID with its own
// address. Only the worker that registered the ID first, with the secret it
// was handed, may move or remove it; the refusals are logged.
func TestInstanceOwnership(t *testing.T) {
	var logs testutil.Buffer
	s := supervisor.New(supervisor.Options{Token: "tok", DefaultInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer s.Close()
	const id = "127.0.0.1:18011"
	reg := func(port int) string {
		return fmt.Sprintf(`{"name":"hello","id":%q,"host":"127.0.0.1","port":%d,"healthcheck":{"url":"http://127.0.0.1:%d/healthz","interval":1}}`, id, port, port)
	}
	call := func(method, path, body, secret string) (int, supervisor.Receipt) {
		r := httptest.NewRequest(method, "http://127.0.0.1:8100"+path, strings.NewReader(body))
		r.RemoteAddr = "127.0.0.1:5000"
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer tok")
		if secret != "" {
			r.Header.Set(cluster.SecretHeader, secret)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code >= 400 && w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s %s: %d without problem details", method, path, w.Code)
		}
		var rec supervisor.Receipt
		json.Unmarshal(w.Body.Bytes(), &rec)
		return w.Code, rec
	}
	code, first := call("PUT", "/register", reg(18011), "")
	if code != http.StatusCreated || first.Secret == "" {
		t.Fatalf("first registration: %d, secret %q", code, first.Secret)
	}
	owner := first.Secret
	const renew, instance = "/register/hello/" + id + "/renew", "/register/hello/" + id
	steps := []struct {
		name, method, path, body, secret string
		want                             int
		wantPort                         int  // the port the entry points at afterwards
		wantSecret                       bool // the answer hands out a secret
	}{
		{"hijack without the secret", "PUT", "/register", reg(18666), "", http.StatusConflict, 18011, false},
		{"hijack by POST", "POST", "/register", reg(18666), "", http.StatusConflict, 18011, false},
		{"hijack with a wrong secret", "PUT", "/register", reg(18666), "guess", http.StatusConflict, 18011, false},
		{"removal without the secret", "DELETE", instance, "", "", http.StatusConflict, 18011, false},
		{"removal with a wrong secret", "DELETE", instance, "", "guess", http.StatusConflict, 18011, false},
		{"renewal with a wrong secret", "POST", renew, "", "guess", http.StatusConflict, 18011, false},
		// A worker restarted at the same address lost its secret: it may
		// register again, but earns no secret.
		{"same address, no secret", "PUT", "/register", reg(18011), "", http.StatusOK, 18011, false},
		{"renewal without a secret", "POST", renew, "", "", http.StatusOK, 18011, false},
		{"renewal by the owner", "POST", renew, "", owner, http.StatusOK, 18011, false},
		{"the owner moves", "PUT", "/register", reg(18012), owner, http.StatusOK, 18012, true},
		{"hijack after the move", "PUT", "/register", reg(18011), "", http.StatusConflict, 18012, false},
		{"the owner leaves", "DELETE", instance, "", owner, http.StatusNoContent, 0, false},
	}
	for _, st := range steps {
		code, rec := call(st.method, st.path, st.body, st.secret)
		if code != st.want {
			t.Fatalf("%s: got %d, want %d", st.name, code, st.want)
		}
		if (rec.Secret != "") != st.wantSecret || (st.wantSecret && rec.Secret != owner) {
			t.Fatalf("%s: the answer's secret is %q", st.name, rec.Secret)
		}
		inst, err := s.Registry().Get(context.Background(), "hello", id)
		switch {
		case st.wantPort == 0 && err == nil:
			t.Fatalf("%s: the instance is still registered", st.name)
		case st.wantPort != 0 && (err != nil || inst.Port != st.wantPort):
			t.Fatalf("%s: the instance points at port %d (%v), want %d", st.name, inst.Port, err, st.wantPort)
		}
	}
	if n := strings.Count(logs.String(), "refused a call on an instance owned by another worker"); n != 7 {
		t.Errorf("%d refusals logged, want 7:\n%s", n, logs.String())
	}
	// Once the owner has left, the ID is free: the next registrant owns it.
	if code, rec := call("PUT", "/register", reg(18011), ""); code != http.StatusCreated || rec.Secret == "" || rec.Secret == owner {
		t.Fatalf("registration after the owner left: %d, secret %q", code, rec.Secret)
	}
}
