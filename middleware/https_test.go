package middleware_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/middleware"
	"github.com/replicaflow/replicaflow/responses"
)

func TestHTTPSRedirect(t *testing.T) {
	trust := middleware.TrustProxy(true)
	tests := []struct {
		name     string
		opts     []middleware.HTTPSOption
		method   string
		host     string
		target   string
		tls      bool
		proto    string // X-Forwarded-Proto
		status   int
		location string
	}{
		{name: "GET over HTTP", method: "GET", host: "example.com", target: "/a/b?q=1&r=%20", status: 307, location: "https://example.com/a/b?q=1&r=%20"},
		{name: "HEAD over HTTP", method: "HEAD", host: "example.com", target: "/", status: 307, location: "https://example.com/"},
		{name: "POST over HTTP", method: "POST", host: "example.com", target: "/form", status: 308, location: "https://example.com/form"},
		{name: "DELETE over HTTP", method: "DELETE", host: "example.com", target: "/x", status: 308, location: "https://example.com/x"},
		{name: "HTTP port dropped", method: "GET", host: "example.com:8080", target: "/", status: 307, location: "https://example.com/"},
		{name: "HTTPS port", opts: []middleware.HTTPSOption{middleware.HTTPSPort(8443)}, method: "GET", host: "example.com:8080", target: "/p", status: 307, location: "https://example.com:8443/p"},
		{name: "IPv6 host", method: "GET", host: "[::1]:8080", target: "/", status: 307, location: "https://[::1]/"},
		{name: "IPv6 host and HTTPS port", opts: []middleware.HTTPSOption{middleware.HTTPSPort(8443)}, method: "GET", host: "[::1]", target: "/", status: 307, location: "https://[::1]:8443/"},
		{name: "TLS connection", method: "POST", host: "example.com", target: "/", tls: true, status: 200},
		{name: "forwarded https, proxy not trusted", method: "GET", host: "example.com", target: "/", proto: "https", status: 307, location: "https://example.com/"},
		{name: "forwarded https, proxy trusted", opts: []middleware.HTTPSOption{trust}, method: "GET", host: "example.com", target: "/", proto: "https", status: 200},
		{name: "forwarded HTTPS list, proxy trusted", opts: []middleware.HTTPSOption{trust}, method: "GET", host: "example.com", target: "/", proto: "HTTPS, http", status: 200},
		{name: "forwarded http, proxy trusted", opts: []middleware.HTTPSOption{trust}, method: "PUT", host: "example.com", target: "/", proto: "http", status: 308, location: "https://example.com/"},
		{name: "trust turned off", opts: []middleware.HTTPSOption{trust, middleware.TrustProxy(false)}, method: "GET", host: "example.com", target: "/", proto: "https", status: 307, location: "https://example.com/"},
		{name: "no Host", method: "GET", host: "", target: "/", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(middleware.HTTPSRedirect(tt.opts...))
			e.Any("/*path", func(c *gin.Context) { c.String(200, "served") })
			r := httptest.NewRequest(tt.method, tt.target, nil)
			r.Host = tt.host
			if !tt.tls {
				r.TLS = nil
			} else {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if tt.status == 200 && w.Body.String() != "served" {
				t.Errorf("body = %q, want the handler's", w.Body)
			}
			if tt.status == 400 && w.Header().Get("Content-Type") != responses.ProblemContentType {
				t.Errorf("Content-Type = %q, want problem details", w.Header().Get("Content-Type"))
			}
		})
	}
}

func TestHTTPSPortPanics(t *testing.T) {
	for _, p := range []int{0, -1, 65536} {
		testutil.MustPanic(t, "outside 1-65535", func() { middleware.HTTPSPort(p) })
	}
}

// TestHTTPSRedirectServer checks the redirect on a real connection, where the
// server, not the test, fills in Host and TLS.
func TestHTTPSRedirectServer(t *testing.T) {
	e := newEngine(middleware.HTTPSRedirect())
	e.GET("/p", func(c *gin.Context) { c.String(200, "served") })
	for _, srv := range []*httptest.Server{httptest.NewServer(e), httptest.NewTLSServer(e)} {
		defer srv.Close()
		client := srv.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := client.Get(srv.URL + "/p?x=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := 200
		if srv.TLS == nil {
			want = 307
			if loc := resp.Header.Get("Location"); loc != "https://127.0.0.1/p?x=1" {
				t.Errorf("Location = %q, want https://127.0.0.1/p?x=1", loc)
			}
		}
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", srv.URL, resp.StatusCode, want)
		}
	}
}
