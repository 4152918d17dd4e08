package guard_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/replicaflow/replicaflow/internal/guard"
)

func TestProtect(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	const local = "127.0.0.1:5000"
	jsonType := http.Header{"Content-Type": {"application/json"}}
	with := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name, token, method, remote, host string
		header                            http.Header
		want                              int
	}{
		{"no token, loopback v4", "", "POST", local, "127.0.0.1:8000", jsonType, 204},
		{"no token, loopback v6", "", "POST", "[::1]:5000", "[::1]:8000", jsonType, 204},
		{"no token, remote", "", "POST", "203.0.113.9:5000", "127.0.0.1:8000", jsonType, 403},
		{"no token, GET needs no content type", "", "GET", local, "localhost:8000", nil, 204},

		// A proxy on this machine (the gateway) must not make its clients loopback.
		{"loopback proxy, X-Forwarded-For", "", "GET", local, "127.0.0.1", with("X-Forwarded-For", "203.0.113.9"), 403},
		{"loopback proxy, Forwarded", "", "GET", local, "127.0.0.1", with("Forwarded", "for=203.0.113.9"), 403},
		{"loopback proxy, X-Real-IP", "", "GET", local, "127.0.0.1", with("X-Real-IP", "203.0.113.9"), 403},
		// D5: an empty first line must not hide the one the proxy appended.
		{"empty first X-Forwarded-For", "", "GET", local, "127.0.0.1", with("X-Forwarded-For", "", "X-Forwarded-For", "203.0.113.9"), 403},
		{"empty first Forwarded", "", "GET", local, "127.0.0.1", with("Forwarded", "", "Forwarded", "for=203.0.113.9"), 403},
		{"empty first X-Real-IP", "", "GET", local, "127.0.0.1", with("X-Real-IP", "", "X-Real-IP", "203.0.113.9"), 403},
		{"an empty forwarding header alone", "", "GET", local, "127.0.0.1", with("X-Forwarded-For", ""), 403},

		// D1: DNS rebinding. The page's own name reaches 127.0.0.1.
		{"rebound host", "", "GET", local, "evil.example:8000", nil, 403},
		{"rebound host without port", "", "GET", local, "evil.example", nil, 403},
		{"host 127.1.2.3", "", "GET", local, "127.1.2.3:9", nil, 204},
		{"host LOCALHOST", "", "GET", local, "LOCALHOST", nil, 204},
		{"host ::1 bare", "", "GET", local, "::1", nil, 204},
		{"no host", "", "GET", local, "", nil, 403},
		{"host localhost.evil.example", "", "GET", local, "localhost.evil.example", nil, 403},

		// D1: cross-site requests.
		{"form post", "", "POST", local, "127.0.0.1:8000",
			with("Content-Type", "application/x-www-form-urlencoded", "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"), 403},
		{"cross-site JSON", "", "POST", local, "127.0.0.1:8000", with("Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"), 403},
		{"same-site (another port)", "", "POST", local, "127.0.0.1:8000", with("Content-Type", "application/json", "Sec-Fetch-Site", "same-site"), 403},
		{"foreign origin", "", "POST", local, "127.0.0.1:8000", with("Content-Type", "application/json", "Origin", "http://127.0.0.2:8000"), 403},
		{"origin on another port", "", "POST", local, "127.0.0.1:8000", with("Content-Type", "application/json", "Origin", "http://127.0.0.1:9000"), 403},
		{"origin null", "", "POST", local, "127.0.0.1:8000", with("Content-Type", "application/json", "Origin", "null"), 403},
		{"cross-site read", "", "GET", local, "127.0.0.1:8000", with("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors"), 403},
		{"same origin", "", "POST", local, "127.0.0.1:8000",
			with("Content-Type", "application/json", "Origin", "http://127.0.0.1:8000", "Sec-Fetch-Site", "same-origin"), 204},
		{"typed into the address bar", "", "GET", local, "localhost:8000", with("Sec-Fetch-Site", "none", "Sec-Fetch-Mode", "navigate"), 204},
		{"a link from another site", "", "GET", local, "localhost:8000", with("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"), 204},
		{"a form navigating from another site", "", "POST", local, "localhost:8000",
			with("Content-Type", "application/json", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"), 403},

		// D1: what a form or a no-cors fetch can send.
		{"no content type", "", "POST", local, "127.0.0.1:8000", nil, 415},
		{"text/plain", "", "POST", local, "127.0.0.1:8000", with("Content-Type", "text/plain"), 415},
		{"urlencoded", "", "POST", local, "127.0.0.1:8000", with("Content-Type", "application/x-www-form-urlencoded"), 415},
		{"multipart", "", "POST", local, "127.0.0.1:8000", with("Content-Type", "multipart/form-data; boundary=x"), 415},
		{"DELETE without type", "", "DELETE", local, "127.0.0.1:8000", nil, 415},
		{"JSON with charset", "", "PUT", local, "127.0.0.1:8000", with("Content-Type", "application/json; charset=utf-8"), 204},

		// With a token the token decides, from anywhere.
		{"token, right, via proxy", "s3cret", "POST", local, "gw.example", with("Authorization", "Bearer s3cret", "X-Forwarded-For", "203.0.113.9"), 204},
		{"token, missing", "s3cret", "POST", local, "127.0.0.1", jsonType, 401},
		{"token, wrong", "s3cret", "POST", "203.0.113.9:5000", "api.example", with("Authorization", "Bearer nope"), 401},
		{"token, right, remote", "s3cret", "POST", "203.0.113.9:5000", "api.example", with("Authorization", "Bearer s3cret"), 204},
		{"token, right, lower-case scheme", "s3cret", "POST", "203.0.113.9:5000", "api.example", with("Authorization", "bearer s3cret"), 204},
		{"token, a prefix of it", "s3cret", "GET", local, "127.0.0.1", with("Authorization", "Bearer s3c"), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/x", nil)
			r.RemoteAddr, r.Host = tt.remote, tt.host
			for k, vs := range tt.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			w := httptest.NewRecorder()
			guard.Protect(tt.token, ok).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("got %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if w.Code < 400 {
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q, want problem details", ct)
			}
			var p struct {
				Status int    `json:"status"`
				Detail string `json:"detail"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != tt.want || p.Detail == "" {
				t.Fatalf("problem %s (%v)", w.Body, err)
			}
			if tt.want == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}
