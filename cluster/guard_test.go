package cluster_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/replicaflow/replicaflow/cluster"
)

func TestProtect(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name, token, remote, auth string
		want                      int
		header                    map[string]string
	}{
		{"no token, loopback v4", "", "127.0.0.1:5000", "", 204, nil},
		// A proxy on this machine (the gateway) must not make its clients loopback.
		{"no token, loopback proxy", "", "127.0.0.1:5000", "", 403, map[string]string{"X-Forwarded-For": "203.0.113.9"}},
		{"no token, loopback proxy, Forwarded", "", "127.0.0.1:5000", "", 403, map[string]string{"Forwarded": "for=203.0.113.9"}},
		{"no token, loopback proxy, X-Real-IP", "", "127.0.0.1:5000", "", 403, map[string]string{"X-Real-IP": "203.0.113.9"}},
		{"token, right, via proxy", "s3cret", "127.0.0.1:5000", "Bearer s3cret", 204, map[string]string{"X-Forwarded-For": "203.0.113.9"}},
		{"no token, loopback v6", "", "[::1]:5000", "", 204, nil},
		{"no token, remote", "", "203.0.113.9:5000", "", 403, nil},
		{"token, missing", "s3cret", "127.0.0.1:5000", "", 401, nil},
		{"token, wrong", "s3cret", "203.0.113.9:5000", "Bearer nope", 401, nil},
		{"token, right, remote", "s3cret", "203.0.113.9:5000", "Bearer s3cret", 204, nil},
		{"token, right, lower-case scheme", "s3cret", "203.0.113.9:5000", "bearer s3cret", 204, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/x", nil)
			r.RemoteAddr = tt.remote
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			cluster.Protect(tt.token, ok).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("got %d, want %d", w.Code, tt.want)
			}
			if w.Code >= 400 && w.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("content type %q", w.Header().Get("Content-Type"))
			}
		})
	}
}

func TestRegistrationInstance(t *testing.T) {
	good := `{"name":"w","tags":["a"],"host":"127.0.0.1","port":"8888","healthcheck":{"url":"http://127.0.0.1:8888/health","interval":"300"}}`
	_ = good
	tests := []struct {
		name string
		reg  cluster.Registration
		ok   bool
	}{
		{"picoapi", cluster.Registration{Name: "w", Host: "127.0.0.1", Port: 8888,
			HealthCheck: &cluster.HealthCheck{URL: "http://127.0.0.1:8888/health", Interval: 300}}, true},
		{"no name", cluster.Registration{Host: "h", Port: 1}, false},
		{"bad port", cluster.Registration{Name: "w", Host: "h", Port: 70000}, false},
		{"health elsewhere", cluster.Registration{Name: "w", Host: "127.0.0.1", Port: 8888,
			HealthCheck: &cluster.HealthCheck{URL: "http://169.254.169.254/latest", Interval: 1}}, false},
		{"negative interval", cluster.Registration{Name: "w", Host: "127.0.0.1", Port: 8888,
			HealthCheck: &cluster.HealthCheck{Interval: -1}}, false},
	}
	for _, tt := range tests {
		inst, err := tt.reg.Instance()
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v", tt.name, err)
		}
		if tt.ok && (inst.ID != "127.0.0.1:8888" || inst.HealthPath != "/health") {
			t.Errorf("%s: %+v", tt.name, inst)
		}
	}
}
