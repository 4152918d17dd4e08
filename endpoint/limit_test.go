package endpoint_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

// readAll is a raw endpoint that reads the whole body, as a user's upload
// handler does.
func readAll(ctx context.Context, r requests.Request) (int, error) {
	b, err := io.ReadAll(r.Body)
	return len(b), err
}

// TestRawBodyLimit: a requests.Request endpoint is held to its body limit
// (and to the default one) whether the body says its length or is chunked.
func TestRawBodyLimit(t *testing.T) {
	host := newTestHost(4, nil)
	srv := httptest.NewServer(serve(host,
		endpoint.New("POST", "/raw", readAll, endpoint.BodyLimit(1024)),
		endpoint.New("POST", "/raw-default", readAll),
		endpoint.New("POST", "/raw-unlimited", readAll, endpoint.BodyLimit(-1)),
	))
	defer srv.Close()
	tests := []struct {
		name    string
		path    string
		size    int
		chunked bool
		status  int
	}{
		{"within the limit", "/raw", 1024, false, 200},
		{"within the limit, chunked", "/raw", 1024, true, 200},
		{"over the limit", "/raw", 20 << 20, false, 413},
		{"over the limit, chunked", "/raw", 20 << 20, true, 413},
		{"over the default limit", "/raw-default", requests.DefaultBodyLimit + 1, false, 413},
		{"over the default limit, chunked", "/raw-default", requests.DefaultBodyLimit + 1, true, 413},
		{"no limit", "/raw-unlimited", requests.DefaultBodyLimit + 1, true, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(make([]byte, tt.size))
			if tt.chunked {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			req, _ := http.NewRequest("POST", srv.URL+tt.path, body)
			req.Header.Set("Content-Type", "application/octet-stream")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			out, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, out)
			}
			if tt.status == 200 {
				if string(out) != itoa(tt.size) {
					t.Fatalf("read %s bytes, want %d", out, tt.size)
				}
				return
			}
			var p responses.Problem
			if err := json.Unmarshal(out, &p); err != nil || p.Status != 413 || res.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("not a 413 problem (%v): %s %s", err, res.Header.Get("Content-Type"), out)
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
