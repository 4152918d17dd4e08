package main

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/flowtest"
)

func TestQuickstart(t *testing.T) {
	c := flowtest.New(t, NewApp())
	if got := flowtest.Call[MyType](c, "POST", "/", MyType{Val: 7}); got.Val != 7 {
		t.Fatalf("echo gave %+v", got)
	}
	if got := flowtest.Call[int](c, "GET", "/my_endpoint?my_int=1", nil); got != 1 {
		t.Fatalf("my_int gave %d", got)
	}
	if got := flowtest.Call[Hello](c, "GET", "/users/ada", nil); got.Message != "hello ada" {
		t.Fatalf("users gave %+v", got)
	}
	req := httptest.NewRequest("POST", "/raw", strings.NewReader("anything"))
	req.Header.Set("Content-Type", "text/csv")
	if res := c.Do(req); res.Status != 200 || res.Text() != "POST /raw text/csv" {
		t.Fatalf("raw gave %d %q", res.Status, res.Text())
	}
	res := c.Get("/my_endpoint?my_int=one")
	if p := res.Problem(); res.Status != 422 || p.Errors[0].Location != "query.my_int" {
		t.Fatalf("bad my_int gave %d %+v", res.Status, p)
	}
}

// TestQuickstartRequiredMeansSent checks the newcomer's first Try it out:
// Swagger UI pre-fills {"val": 0}, which the document says is valid. A
// required field must be sent; 0 is a value.
func TestQuickstartRequiredMeansSent(t *testing.T) {
	c := flowtest.New(t, NewApp())
	tests := []struct {
		name, method, path string
		body               any
		status             int
		want               string // the body on success, the error location otherwise
	}{
		{"val 0 is a value", "POST", "/", json.RawMessage(`{"val": 0}`), 200, `{"val":0}`},
		{"val missing", "POST", "/", json.RawMessage(`{}`), 422, "body.val"},
		{"val null", "POST", "/", json.RawMessage(`{"val": null}`), 422, "body.val"},
		{"my_int 0 is a value", "GET", "/my_endpoint?my_int=0", nil, 200, "0"},
		{"my_int missing", "GET", "/my_endpoint", nil, 422, "query.my_int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.Request(tt.method, tt.path, tt.body)
			if res.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tt.status, res.Body)
			}
			if tt.status == 200 {
				if got := strings.TrimSpace(res.Text()); got != tt.want {
					t.Fatalf("body %s, want %s", got, tt.want)
				}
				return
			}
			if p := res.Problem(); len(p.Errors) != 1 || p.Errors[0].Location != tt.want || p.Errors[0].Message != "is required" {
				t.Fatalf("problem %+v, want %s is required", p, tt.want)
			}
		})
	}
}
