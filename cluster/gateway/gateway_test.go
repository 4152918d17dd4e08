package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/cluster/gateway"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/registry"
)

type upstreamSrv struct {
	*httptest.Server
	name string
	hits atomic.Int64
}

func newUpstream(t *testing.T, name string, h http.HandlerFunc) *upstreamSrv {
	t.Helper()
	u := &upstreamSrv{name: name}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		u.hits.Add(1)
		w.Header().Set("X-Upstream", name)
		if h != nil {
			h(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s %s", name, r.Method, r.URL.RequestURI(), b)
	}))
	t.Cleanup(u.Close)
	return u
}

func hostPort(u *upstreamSrv) (string, int) {
	p, _ := url.Parse(u.URL)
	var port int
	fmt.Sscan(p.Port(), &port)
	return p.Hostname(), port
}

func newGateway(t *testing.T, opts gateway.Options) (*gateway.Gateway, *httptest.Server) {
	t.Helper()
	if opts.Store == nil {
		opts.Store = gateway.FileStore{Path: filepath.Join(t.TempDir(), "store.json")}
	}
	g, err := gateway.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); g.Close() })
	return g, srv
}

func add(t *testing.T, base, name string, u *upstreamSrv) *http.Response {
	t.Helper()
	host, port := hostPort(u)
	body := fmt.Sprintf(`{"domain":"http://%s","name_service":%q,"port":%d,"health_path":"/healthz"}`, host, name, port)
	resp, err := http.Post(base+"/service", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func get(t *testing.T, target string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestProxyBothServeAndPathsAndBodies(t *testing.T) {
	a, b := newUpstream(t, "a", nil), newUpstream(t, "b", nil)
	_, srv := newGateway(t, gateway.Options{})
	if code, body, _ := get(t, srv.URL+"/services"); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("empty list: %d %q", code, body)
	}
	if r := add(t, srv.URL, "hello", a); r.StatusCode != http.StatusCreated {
		t.Fatalf("add: %d", r.StatusCode)
	}
	if r := add(t, srv.URL, "hello", b); r.StatusCode != http.StatusCreated {
		t.Fatalf("add second: %d", r.StatusCode)
	}
	if r := add(t, srv.URL, "hello", b); r.StatusCode != http.StatusConflict {
		t.Fatalf("duplicate: %d", r.StatusCode)
	}
	for i := 0; i < 20; i++ {
		code, body, _ := get(t, srv.URL+"/hello/x/y%2Fz?q=1")
		if code != 200 || !strings.HasSuffix(body, " GET /x/y%2Fz?q=1 ") {
			t.Fatalf("proxied: %d %q", code, body)
		}
	}
	if a.hits.Load() == 0 || b.hits.Load() == 0 {
		t.Fatalf("both should serve: a=%d b=%d", a.hits.Load(), b.hits.Load())
	}
	resp, err := http.Post(srv.URL+"/hello/echo", "application/octet-stream", bytes.NewReader([]byte{0, 1, 2, '%', '2', '2'}))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.HasSuffix(got, []byte{0, 1, 2, '%', '2', '2'}) {
		t.Fatalf("body changed: %q", got)
	}
	if code, _, _ := get(t, srv.URL+"/nobody/x"); code != 404 {
		t.Fatalf("unknown service: %d", code)
	}
}

func TestLeastOutstanding(t *testing.T) {
	release := make(chan struct{})
	var held sync.WaitGroup
	block := func(w http.ResponseWriter, r *http.Request) {
		held.Done()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	a, b := newUpstream(t, "a", block), newUpstream(t, "b", block)
	_, srv := newGateway(t, gateway.Options{})
	add(t, srv.URL, "s", a)
	add(t, srv.URL, "s", b)
	const n = 10
	held.Add(n)
	var done sync.WaitGroup
	for i := 0; i < n; i++ {
		done.Add(1)
		go func() {
			defer done.Done()
			resp, err := http.Get(srv.URL + "/s/")
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	held.Wait() // all n are in flight
	if a.hits.Load() != n/2 || b.hits.Load() != n/2 {
		t.Fatalf("uneven: a=%d b=%d", a.hits.Load(), b.hits.Load())
	}
	close(release)
	done.Wait()
}

func TestKilledUpstreamRetriedElsewhere(t *testing.T) {
	a, b := newUpstream(t, "a", nil), newUpstream(t, "b", nil)
	_, srv := newGateway(t, gateway.Options{Cooldown: time.Minute})
	add(t, srv.URL, "s", a)
	add(t, srv.URL, "s", b)
	a.Close() // killed: connections now fail
	failed := 0
	for i := 0; i < 30; i++ {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			req, _ := http.NewRequest(method, srv.URL+"/s/item", strings.NewReader("data"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "b ") {
				failed++
			}
		}
	}
	if failed != 0 {
		t.Fatalf("%d idempotent requests failed", failed)
	}
	// The dead one is reported by the refresh.
	req, _ := http.NewRequest("PATCH", srv.URL+"/services", nil)
	req.Header.Set("Content-Type", "application/json")
	resp, _ := http.DefaultClient.Do(req)
	var rows []gateway.Row
	json.NewDecoder(resp.Body).Decode(&rows)
	resp.Body.Close()
	statuses := map[string]string{}
	for _, r := range rows {
		statuses[r.URL] = r.Status
	}
	if statuses[a.URL] != "unhealthy" || statuses[b.URL] != "healthy" {
		t.Fatalf("rows %+v", rows)
	}
}

func TestErrorStatuses(t *testing.T) {
	slow := newUpstream(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	_, srv := newGateway(t, gateway.Options{Timeout: 200 * time.Millisecond, Cooldown: time.Minute, RetryAfter: 2 * time.Second})
	add(t, srv.URL, "slow", slow)
	code, _, h := get(t, srv.URL+"/slow/x")
	if code != http.StatusGatewayTimeout || h.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("timeout: %d %v", code, h)
	}

	dead := newUpstream(t, "dead", nil)
	add(t, srv.URL, "dead", dead)
	dead.Close()
	resp, err := http.Post(srv.URL+"/dead/x", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("dead upstream: %d", resp.StatusCode)
	}
	code, _, h = get(t, srv.URL+"/dead/x") // now out of routing: none healthy
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") != "2" {
		t.Fatalf("no healthy: %d %v", code, h)
	}
}

func TestStreamingPassthrough(t *testing.T) {
	step := make(chan struct{})
	up := newUpstream(t, "stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-step
		fmt.Fprint(w, "data: two\n\n")
	})
	_, srv := newGateway(t, gateway.Options{})
	add(t, srv.URL, "st", up)
	resp, err := http.Get(srv.URL + "/st/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatal(resp.Header)
	}
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(resp.Body, buf, len("data: one\n\n")) // arrives before the upstream finishes
	if err != nil || string(buf[:n]) != "data: one\n\n" {
		t.Fatalf("first event %q %v", buf[:n], err)
	}
	close(step)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "data: two\n\n" {
		t.Fatalf("rest %q", rest)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	a := newUpstream(t, "a", nil)
	store := gateway.FileStore{Path: filepath.Join(t.TempDir(), "gw.json")}
	_, srv := newGateway(t, gateway.Options{Store: store})
	add(t, srv.URL, "keep", a)
	add(t, srv.URL, "gone", a)
	req, _ := http.NewRequest("DELETE", srv.URL+"/service?name_service=gone", nil)
	req.Header.Set("Content-Type", "application/json")
	resp, _ := http.DefaultClient.Do(req)
	if resp.StatusCode != 200 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	srv.Close()

	_, srv2 := newGateway(t, gateway.Options{Store: store}) // restarted
	if code, body, _ := get(t, srv2.URL+"/keep/p"); code != 200 || !strings.HasPrefix(body, "a GET /p") {
		t.Fatalf("after restart: %d %q", code, body)
	}
	if code, _, _ := get(t, srv2.URL+"/gone/p"); code != 404 {
		t.Fatalf("deleted entry came back: %d", code)
	}
}

func TestRegistryInstances(t *testing.T) {
	a := newUpstream(t, "a", nil)
	reg := registry.NewMemory()
	defer reg.Close()
	host, port := hostPort(a)
	reg.Register(context.Background(), registry.Instance{Service: "reg", ID: "1", Host: host, Port: port,
		Status: registry.StatusHealthy}, 0)
	_, srv := newGateway(t, gateway.Options{Registry: reg, DisableManagement: true})
	if code, body, _ := get(t, srv.URL+"/reg/z"); code != 200 || !strings.HasPrefix(body, "a GET /z") {
		t.Fatalf("registry route: %d %q", code, body)
	}
	if code, _, _ := get(t, srv.URL+"/services"); code != 404 { // management off
		t.Fatalf("management should be off: %d", code)
	}
	reg.Register(context.Background(), registry.Instance{Service: "reg", ID: "1", Host: host, Port: port,
		Status: registry.StatusUnhealthy}, 0)
	testutil.WaitFor(t, "the unhealthy instance leaves the routes", 5*time.Second, func() bool {
		code, _, _ := get(t, srv.URL+"/reg/z")
		return code == 503
	})
}

// TestManagementGuard checks who may use the management API, and that a
// tokenless gateway refuses what a web page on another origin can send
// (D2): a no-cors fetch posts text/plain JSON or no type at all.
func TestManagementGuard(t *testing.T) {
	const page = "http://127.0.0.2:18999"
	tests := []struct {
		name, token, remote, auth, ctype, origin string
		want                                     int
	}{
		{"no token, remote", "", "203.0.113.5:999", "", "application/json", "", 403},
		{"token, wrong", "tok", "203.0.113.5:999", "Bearer bad", "application/json", "", 401},
		{"token, right", "tok", "203.0.113.5:999", "Bearer tok", "application/json", "", 201},
		{"no token, loopback", "", "127.0.0.1:999", "", "application/json", "", 201},
		{"no token, text/plain", "", "127.0.0.1:999", "", "text/plain", "", 415},
		{"no token, no type", "", "127.0.0.1:999", "", "", "", 415},
		{"no token, another origin", "", "127.0.0.1:999", "", "application/json", page, 403},
	}
	for _, tt := range tests {
		g, err := gateway.New(context.Background(), gateway.Options{Token: tt.token,
			Store: gateway.FileStore{Path: filepath.Join(t.TempDir(), "s.json")}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []struct{ method, path, body string }{
			{"POST", "/service", `{"domain":"http://127.0.0.1","name_service":"x","port":9}`},
			{"GET", "/services", ""},
			{"PATCH", "/services", ""},
			{"DELETE", "/service?name_service=x", ""},
		} {
			r := httptest.NewRequest(m.method, "http://127.0.0.1:15000"+m.path, strings.NewReader(m.body))
			r.RemoteAddr = tt.remote
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			want := tt.want
			if m.method == "GET" && want == 415 {
				want = 200 // a read says no type
			}
			ok := w.Code < 300
			if (want < 300) != ok || (!ok && w.Code != want) {
				t.Errorf("%s: %s %s: %d, want %d", tt.name, m.method, m.path, w.Code, want)
			}
		}
		g.Close()
	}
}

func TestAddValidation(t *testing.T) {
	_, srv := newGateway(t, gateway.Options{})
	for _, body := range []string{
		`{"domain":"http://127.0.0.1:8080","name_service":"a","port":80}`,
		`{"domain":"127.0.0.1","name_service":"a","port":80}`,
		`{"domain":"http://127.0.0.1","name_service":"services","port":80}`,
		`{"domain":"http://127.0.0.1","name_service":"a b","port":80}`,
		`{"domain":"http://127.0.0.1","name_service":"a","port":70000}`,
	} {
		resp, _ := http.Post(srv.URL+"/service", "application/json", strings.NewReader(body))
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", body, resp.StatusCode)
		}
	}
	_ = net.IPv4len
}
