package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/flowtest"
)

func TestResponses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "r.txt")
	os.WriteFile(file, []byte("a report\n"), 0o644)
	c := flowtest.New(t, NewApp(file))
	tests := []struct {
		method, path string
		body         any
		status       int
		ctPrefix     string
		contains     string
	}{
		{"POST", "/items", Item{ID: 2, Name: "b"}, 201, "application/json", `{"id":2,"name":"b"}`},
		{"GET", "/json", nil, 200, "application/json", `[{"id":1,"name":"a"}]`},
		{"GET", "/page", nil, 200, "text/html", "<h1>hello</h1>"},
		{"GET", "/text", nil, 200, "text/plain", "hello"},
		{"GET", "/file", nil, 200, "text/plain", "a report"},
		{"GET", "/old", nil, 301, "text/html", "/page"},
		{"GET", "/count?to=3", nil, 200, "text/plain", "1\n2\n3\n"},
		{"GET", "/ticks?n=2", nil, 200, "text/event-stream", "id:1\nevent:tick\ndata:{\"n\":1}"},
		{"GET", "/items/9", nil, 404, "application/problem+json", `"detail":"no item 9"`},
		{"GET", "/count?to=5000", nil, 422, "application/problem+json", `"location":"query.to"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := c.Request(tt.method, tt.path, tt.body)
			if res.Status != tt.status || !strings.HasPrefix(res.Header.Get("Content-Type"), tt.ctPrefix) || !strings.Contains(res.Text(), tt.contains) {
				t.Fatalf("%d %s %q", res.Status, res.Header.Get("Content-Type"), res.Text())
			}
		})
	}
}
